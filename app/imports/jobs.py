"""The import jobs RQ runs (queue `maintenance`): plain functions taking a run's id, safe to run again."""
from __future__ import annotations

from app.imports import service


def import_members(run_id: str) -> dict:
    """Write the members file uploaded for run `run_id`, resuming after its last counted batch."""
    state = service.run_member_import(run_id)
    return {name: state[name] for name in ("status", "total", "done", "imported", "unchanged", "rejected")}
