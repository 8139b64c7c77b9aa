"""Domain errors and the one JSON error envelope: {"error": {"code", "message"[, "details"]}}.

Services raise a `DomainError` subclass; the handlers here turn every error, including
Werkzeug's HTTP errors, pydantic validation errors and unexpected exceptions, into the envelope.
Codes are stable English for programs; messages are Simplified Chinese for people.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from pydantic import ValidationError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Any = None, status: int | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        if status is not None:
            self.status = status


class BadRequest(DomainError):
    status, code, message = 400, "bad_request", "请求有误"


class Unauthorized(DomainError):
    status, code, message = 401, "unauthorized", "请先登录"


class Forbidden(DomainError):
    status, code, message = 403, "forbidden", "没有权限执行此操作"


class NotFound(DomainError):
    status, code, message = 404, "not_found", "内容不存在"


class Conflict(DomainError):
    status, code, message = 409, "conflict", "操作冲突,请刷新后重试"


class Unprocessable(DomainError):
    status, code, message = 422, "validation_error", "请求参数有误"


class TooManyRequests(DomainError):
    status, code, message = 429, "too_many_requests", "操作太频繁,请稍后再试"


class UpstreamUnavailable(DomainError):
    status, code, message = 502, "wechat_unavailable", "微信服务暂时不可用,请稍后再试"


_HTTP_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "内容不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请使用 JSON 格式提交"),
    422: ("validation_error", "请求参数有误"),
    429: ("too_many_requests", "操作太频繁,请稍后再试"),
}


def error_response(status: int, code: str, message: str, details: Any = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return jsonify({"error": body}), status


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors without echoing the submitted values back (they may be personal data)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or None, "type": err["type"], "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def validation_error_callback(exc: ValidationError):
    """flask-openapi3 calls this when a request fails its pydantic model."""
    response, status = error_response(422, "validation_error", _field_message(exc), validation_details(exc))
    response.status_code = status
    return response


def _field_message(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0] if exc.errors() else None
    if first is None or not first["loc"]:
        return "请求参数有误"
    field = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"不允许提交字段: {field}"
    if first["type"] == "missing":
        return f"缺少必填字段: {field}"
    return f"字段 {field} 不合法"


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(ValidationError)
    def _pydantic(exc: ValidationError):
        return error_response(422, "validation_error", _field_message(exc), validation_details(exc))

    @app.errorhandler(DataError)
    def _out_of_range(exc: DataError):
        """A value PostgreSQL cannot store (a number past its column's range...): the client's input."""
        from app.extensions import db

        db.session.rollback()
        return error_response(422, "value_out_of_range", "数值超出允许范围")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.response is not None and exc.response.is_json:
            return exc.response  # already an envelope (e.g. from the validation callback)
        status = exc.code or 500
        code, message = _HTTP_MESSAGES.get(status, ("http_error", exc.description or "请求失败"))
        return error_response(status, code, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "服务器开小差了,请稍后再试")
