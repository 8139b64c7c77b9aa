"""Slow bot work, done in a job so the callback answers within WeChat's 5 seconds."""
from __future__ import annotations

import io
import logging

from app.wechat.client import official_account
from posters import render

log = logging.getLogger(__name__)


def send_poster(openid: str, member_id: int) -> str:
    """Render the member's poster, upload it as temporary media, send it as a customer-service image."""
    image, _ = render.poster(member_id)
    client = official_account()
    media_id = client.media.upload("image", ("poster.jpg", io.BytesIO(image), "image/jpeg"))["media_id"]
    client.message.send_image(openid, media_id)
    return media_id
