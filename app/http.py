"""Request guards shared by every endpoint: malformed JSON is a 400, not a 500 or a silent None."""
from __future__ import annotations

import json

from flask import Flask, request

from app.errors import BadRequest


def register_request_guards(app: Flask) -> None:
    @app.before_request
    def _reject_malformed_json():
        if request.method in ("POST", "PUT", "PATCH") and request.is_json:
            raw = request.get_data(cache=True)
            if raw:
                try:
                    json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    raise BadRequest("请求体不是合法的 JSON", code="malformed_json")
