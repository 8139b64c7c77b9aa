"""Ledger domain errors: each maps to one HTTP status and a stable code."""
from app.errors import Conflict, NotFound, Unprocessable


class InsufficientPoints(Conflict):
    code, message = "insufficient_points", "可用积分不足"


class UnknownMember(NotFound):
    code, message = "unknown_member", "会员不存在"


class IdempotencyMismatch(Unprocessable):
    code, message = "idempotency_key_reused", "该幂等键已用于另一笔不同的请求"


class NotReversible(Unprocessable):
    code, message = "not_reversible", "该流水不可冲正"


class InvalidAmount(Unprocessable):
    code, message = "invalid_amount", "数量必须是正整数"
