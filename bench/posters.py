"""Posters per second, cold and from the cache, beside generating the bare QR code PNG, in one run.

    .venv/bin/python -m bench.posters [--count 40]

Cold: the whole poster for a member whose poster is not cached (invite code, the mini-program code
from the WeChat sandbox over HTTP, avatar initials, text, JPEG). Cached: the same request again.
Baseline: `qrcode` making the PNG of a URL, nothing else. Aims: a cold poster within 10x the bare
QR code; a cached one under 5 ms.
"""
from __future__ import annotations

import argparse
import io
import time

import qrcode
from sqlalchemy import text

from app.wechat.sandbox import serve_in_thread
from bench.common import bench_app


def bare_qr(i: int) -> bytes:
    out = io.BytesIO()
    qrcode.make(f"https://example.com/invite?scene=i{i:010d}").save(out, "PNG")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    server, base = serve_in_thread()
    try:
        with bench_app(wechat_api_base=base) as app:
            from app.extensions import db
            from posters import render

            with app.app_context():
                db.session.execute(text(
                    "INSERT INTO members (appid, openid, status, gender, nickname, created_at, updated_at) "
                    "SELECT 'wx-bench', 'o-p-' || g, 'active', 0, '会员' || g, now(), now() "
                    "FROM generate_series(1, :n) g"), {"n": args.count})
                db.session.commit()
                ids = [row[0] for row in db.session.execute(text("SELECT id FROM members ORDER BY id"))]
                render.poster(ids[0])  # warm up fonts and the WeChat token

                started = time.perf_counter()
                for i in range(args.count):
                    bare_qr(i)
                bare = (time.perf_counter() - started) / args.count
                started = time.perf_counter()
                sizes = [len(render.poster(member_id)[0]) for member_id in ids[1:]]
                cold = (time.perf_counter() - started) / len(sizes)
                started = time.perf_counter()
                hits = [render.poster(member_id)[1] for member_id in ids[1:]]
                cached = (time.perf_counter() - started) / len(hits)
            print(f"bare QR code PNG     {bare * 1000:8.1f} ms  ({1 / bare:6.0f} /s)")
            print(f"cold poster          {cold * 1000:8.1f} ms  ({1 / cold:6.0f} /s), largest {max(sizes) // 1024} KB")
            print(f"cached poster        {cached * 1000:8.1f} ms  ({1 / cached:6.0f} /s), all from the cache: {all(hits)}")
            print(f"cold / bare QR = {cold / bare:.1f}x (aim <= 10x); cached = {cached * 1000:.2f} ms (aim < 5 ms)")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
