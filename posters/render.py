"""The referral poster: a design from `config/posters.py`, the member's avatar and nickname, and
the mini-program code carrying their invite code, rendered with Pillow.

- The code comes from WeChat (`wxacode.getUnlimited` through wechatpy); if WeChat refuses or cannot
  be reached, a standard QR code of the H5 landing URL carrying the invite code is drawn instead
  (and the log says so).
- The avatar is fetched with a timeout and a size cap; missing, slow, huge or broken, it becomes
  the member's initial on a coloured circle.
- Text uses the project's own font: Noto Sans CJK SC, subset to GB2312 plus ASCII and punctuation
  (`posters/fonts/`, SIL Open Font License 1.1). Characters outside it (emoji, rare characters)
  are left out rather than drawn as boxes.
- Posters are JPEG (well under 300 KB) and cached in Redis by member, design version, nickname and
  avatar: the same inputs are served from the cache; a profile change makes a new poster.
"""
from __future__ import annotations

import hashlib
import io
import logging
import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import qrcode
import requests
from flask import current_app
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from wechatpy.exceptions import WeChatClientException

from app.errors import NotFound
from app.extensions import db, get_redis
from app.members.models import Member
from app.programme import service as programme
from app.wechat.client import mini_program
from config.posters import DEFAULT_TEMPLATE, POSTER_TEMPLATES
from posters.referrals import invite_code

log = logging.getLogger(__name__)

FONT_PATH = Path(__file__).parent / "fonts" / "NotoSansSC-GB2312.otf"
AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_TIMEOUT = (1.0, 2.0)  # connect, read (seconds); the whole fetch is also bounded below
AVATAR_DEADLINE_SECONDS = 3.0
CACHE_SECONDS = 7 * 24 * 3600
INVITE_PAGE = "pages/index/index"
CIRCLE_COLOURS = ("#e57373", "#64b5f6", "#81c784", "#ffb74d", "#ba68c8", "#4db6ac")


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


@lru_cache(maxsize=4096)
def has_glyph(char: str) -> bool:
    """Whether the project's font draws `char` (anything else would come out as the .notdef box)."""
    probe = font(32)
    return char.isspace() or bytes(probe.getmask(char)) != bytes(probe.getmask("\U0010ffff"))


def drawable(text: str) -> str:
    return "".join(c for c in text if has_glyph(c)).strip()


def default_template() -> str:
    """The design operators chose for the programme (the configured default if it no longer exists)."""
    chosen = programme.current().poster_template
    return chosen if chosen in POSTER_TEMPLATES else DEFAULT_TEMPLATE


def template(name: str | None) -> dict:
    spec = POSTER_TEMPLATES.get(name or DEFAULT_TEMPLATE)
    if spec is None:
        raise NotFound(f"没有名为 {name} 的海报模板", code="unknown_template")
    return spec


def cache_key(member: Member, name: str, spec: dict) -> str:
    inputs = f"{spec['version']}|{member.nickname or ''}|{member.avatar_url or ''}|{programme.current().name}"
    return f"poster:{member.id}:{name}:{hashlib.sha1(inputs.encode()).hexdigest()}"


def poster(member_id: int, name: str | None = None) -> tuple[bytes, bool]:
    """(JPEG bytes, served from the cache) of the member's poster in design `name`."""
    name = name or default_template()
    spec = template(name)
    member = db.session.get(Member, member_id)
    key = cache_key(member, name, spec)
    redis = get_redis()
    try:
        cached = redis.get(key)
    except Exception:  # no cache, still a poster
        cached = None
    if cached:
        return cached, True
    image = render(member, spec, invite_code(member_id))
    try:
        redis.set(key, image, ex=CACHE_SECONDS)
    except Exception:
        log.warning("poster cache unavailable; poster of member %s not kept", member_id)
    return image, False


def render(member: Member, spec: dict, code: str) -> bytes:
    width, height = spec["size"]
    canvas = _gradient(width, height, *spec["background"])
    draw = ImageDraw.Draw(canvas)
    name = programme.current().name
    for part in ("headline", "subline"):
        item = spec[part]
        draw.text(tuple(item["xy"]), drawable(item["text"].format(programme=name)), font=font(item["size"]),
                  fill=item["color"])
    avatar = spec["avatar"]
    canvas.paste(*_round(_avatar(member, avatar["size"]), tuple(avatar["xy"])))
    nickname = spec["nickname"]
    draw.text(tuple(nickname["xy"]), drawable(member.nickname or "") or "会员", font=font(nickname["size"]),
              fill=nickname["color"], anchor=nickname.get("anchor", "la"))
    draw.rounded_rectangle(tuple(spec["card"]["box"]), radius=24, fill=spec["card"]["color"])
    code_spec = spec["code"]
    canvas.paste(_code_image(code, code_spec["size"]), tuple(code_spec["xy"]))
    caption = spec["caption"]
    draw.text(tuple(caption["xy"]), drawable(caption["text"]), font=font(caption["size"]), fill=caption["color"],
              anchor="mt")
    out = io.BytesIO()
    canvas.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _gradient(width: int, height: int, top: str, bottom: str) -> Image.Image:
    start, end = Image.new("RGB", (1, 1), top).getpixel((0, 0)), Image.new("RGB", (1, 1), bottom).getpixel((0, 0))
    column = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(start, end)))
    return column.resize((width, height))


def _round(image: Image.Image, xy: tuple[int, int]) -> tuple[Image.Image, tuple[int, int], Image.Image]:
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, image.size[0] - 1, image.size[1] - 1), fill=255)
    return image, xy, mask


def _avatar(member: Member, size: int) -> Image.Image:
    data = _fetch_avatar(member.avatar_url) if member.avatar_url else None
    if data:
        try:
            with Image.open(io.BytesIO(data)) as opened:
                opened.draft("RGB", (size * 2, size * 2))
                return opened.convert("RGB").resize((size, size))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            log.info("avatar of member %s is not an image; drawing initials", member.id)
    return _initials(member, size)


def _fetch_avatar(url: str) -> bytes | None:
    """The avatar's bytes, or None when it fails, is too big or too slow."""
    started = time.monotonic()
    try:
        with requests.get(url, stream=True, timeout=AVATAR_TIMEOUT) as response:
            if response.status_code != 200:
                return None
            if int(response.headers.get("Content-Length") or 0) > AVATAR_MAX_BYTES:
                return None
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > AVATAR_MAX_BYTES or time.monotonic() - started > AVATAR_DEADLINE_SECONDS:
                    return None
                chunks.append(chunk)
            return b"".join(chunks)
    except (requests.RequestException, ValueError) as exc:
        log.info("avatar %s not fetched: %s", url[:80], exc)
        return None


def _initials(member: Member, size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), CIRCLE_COLOURS[member.id % len(CIRCLE_COLOURS)])
    letter = (drawable(member.nickname or "") or "会")[0]
    ImageDraw.Draw(image).text((size / 2, size / 2), letter.upper(), font=font(size // 2), fill="#ffffff", anchor="mm")
    return image


def _code_image(code: str, size: int) -> Image.Image:
    """The mini-program code of `code`; a QR code of the H5 landing page when WeChat can't give one."""
    try:
        answer = mini_program().wxa.get_wxa_code_unlimited(code, width=size, page=INVITE_PAGE)
        return Image.open(io.BytesIO(answer.content)).convert("RGB").resize((size, size))
    except (WeChatClientException, requests.RequestException, UnidentifiedImageError, OSError) as exc:
        url = f"{current_app.config['SETTINGS'].poster_landing_url}?scene={quote(code)}"
        log.warning("mini-program code for %s unavailable (%s); drawing a QR code of %s", code, exc, url)
        qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(url)
        return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB").resize(
            (size, size), Image.NEAREST)
