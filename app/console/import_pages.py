"""Console: upload a members file from the previous system and watch its import.

The upload goes to the same service as the API (`app.imports`): checked at once, written by an RQ
job in batches. The run's page shows a progress bar and refreshes itself while the job runs (a meta
refresh, no JavaScript), then the counts and the rejected rows with their reasons.
"""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, stream_with_context, url_for

from app.console.auth import WRITERS, requires
from app.console.views import bp
from app.errors import DomainError
from app.imports import service as imports

REJECTED_SHOWN = 100


@bp.get("/imports")
@requires(*WRITERS)
def imports_page():
    return render_template("console/imports.html", runs=imports.recent_runs(), error=None,
                           max_mb=imports.max_file_bytes() // (1024 * 1024) or 1)


@bp.post("/imports")
@requires(*WRITERS)
def import_upload():
    upload = request.files.get("file")
    error = None
    if upload is None or not upload.filename:
        error = "请选择要导入的 CSV 文件"
    else:
        try:
            run = imports.start_member_import(upload.filename, upload.stream.read(imports.max_file_bytes() + 1),
                                              g.operator.id)
        except DomainError as exc:
            error = exc.message
        else:
            flash(f"已开始导入「{run['filename']}」,共 {run['total']} 行")
            return redirect(url_for("console.import_run", run_id=run["id"]))
    return render_template("console/imports.html", runs=imports.recent_runs(), error=error,
                           max_mb=imports.max_file_bytes() // (1024 * 1024) or 1), 422


@bp.get("/imports/<run_id>")
@requires(*WRITERS)
def import_run(run_id: str):
    try:
        run = imports.run(run_id[:32])
    except DomainError:
        return render_template("console/error.html", message="导入记录不存在或已过期。"), 404
    percent = run["done"] * 100 // run["total"] if run["total"] else 100
    rejected = imports.rejected_rows(run["id"], page=1, per_page=REJECTED_SHOWN)
    return render_template("console/import_run.html", run=run, percent=percent, rejected=rejected,
                           shown=REJECTED_SHOWN, working=run["status"] in ("queued", "running"))


@bp.get("/imports/<run_id>/rejected.csv")
@requires(*WRITERS)
def import_rejected(run_id: str):
    try:
        run = imports.run(run_id[:32])
    except DomainError:
        return render_template("console/error.html", message="导入记录不存在或已过期。"), 404
    return Response(stream_with_context(imports.rejected_csv(run["id"])), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{run["id"]}-rejected.csv"'})
