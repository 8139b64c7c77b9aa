"""Posters: the code decodes back to the member's invite code; Chinese is drawn; bad avatars and a
WeChat error still give a poster quickly; the second request comes from the cache."""
from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import zxingcpp
from PIL import Image

from posters import render
from tests.support import auth, login, seed_rules


@pytest.fixture
def programme(app):
    with app.app_context():
        seed_rules()


class _Avatars(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/ok.png":
            buf = io.BytesIO()
            Image.new("RGB", (64, 64), "#3366cc").save(buf, "PNG")
            self.send_response(200), self.send_header("Content-Length", str(len(buf.getvalue()))), self.end_headers()
            self.wfile.write(buf.getvalue())
        elif self.path == "/huge":
            self.send_response(200), self.end_headers()  # no length: 50 MB streamed
            try:
                for _ in range(50 * 16):
                    self.wfile.write(b"\0" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path == "/slow":
            time.sleep(10)
        elif self.path == "/broken":
            self.send_response(200), self.send_header("Content-Length", "9"), self.end_headers()
            self.wfile.write(b"not a png")
        else:
            self.send_response(404), self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def avatars():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Avatars)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def poster_of(client, member, template=None):
    response = client.get("/api/v1/me/poster" + (f"?template={template}" if template else ""), headers=auth(member))
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    assert response.mimetype == "image/jpeg" and len(response.data) < 300 * 1024
    return response


def decoded(data: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def test_the_posters_code_carries_the_members_invite_code(app, client, sandbox, programme, avatars):
    alice = login(client, "alice")
    assert client.patch("/api/v1/me", json={"nickname": "测试会员🎉", "avatar_url": f"{avatars}/ok.png"},
                        headers=auth(alice)).status_code == 200
    code = client.get("/api/v1/me/invite-code", headers=auth(alice)).get_json()["scene"]
    for template in ("classic", "fresh"):
        texts = decoded(poster_of(client, alice, template).data)
        assert any(f"scene={code}" in t for t in texts), texts


def test_the_nickname_in_chinese_is_drawn_and_the_emoji_left_out(app):
    assert all(render.has_glyph(c) for c in "测试会员邀请积分")
    assert not render.has_glyph("🎉")
    assert render.drawable("测试会员🎉") == "测试会员"
    with app.app_context():
        box = render.font(40).getbbox("测试会员")
    assert box[2] - box[0] > 120  # four full-width characters, not four empty boxes' worth of nothing


@pytest.mark.parametrize("path", ["/broken", "/huge", "/slow", "/missing"])
def test_a_bad_avatar_still_gives_a_poster_within_seconds(app, client, sandbox, programme, avatars, path):
    bob = login(client, "bob")
    assert client.patch("/api/v1/me", json={"nickname": "Bob", "avatar_url": f"{avatars}{path}"},
                        headers=auth(bob)).status_code == 200
    started = time.monotonic()
    poster_of(client, bob)
    assert time.monotonic() - started < 5


def test_a_wechat_error_gives_a_qr_code_of_the_landing_page(app, client, sandbox, programme):
    carol = login(client, "carol")
    sandbox.add_fault("getwxacodeunlimit", 45009, times=5)
    code = client.get("/api/v1/me/invite-code", headers=auth(carol)).get_json()["scene"]
    texts = decoded(poster_of(client, carol).data)
    assert texts == [f"https://example.com/invite?scene={code}"]


def test_the_second_request_comes_from_the_cache_and_a_profile_change_makes_a_new_one(app, client, sandbox,
                                                                                        programme):
    dave = login(client, "dave")
    first = poster_of(client, dave)
    second = poster_of(client, dave)
    assert (first.headers["X-Poster-Cache"], second.headers["X-Poster-Cache"]) == ("miss", "hit")
    assert first.data == second.data and len(sandbox.requests("getwxacodeunlimit")) == 1
    client.patch("/api/v1/me", json={"nickname": "大卫"}, headers=auth(dave))
    assert poster_of(client, dave).headers["X-Poster-Cache"] == "miss"
    assert client.get("/api/v1/me/poster?template=nope", headers=auth(dave)).status_code == 404
    assert client.get("/api/v1/me/poster?other=1", headers=auth(dave)).status_code == 422


def test_the_operator_picks_the_design_members_get_by_default(app, client, sandbox, programme):
    from tests.support import operator_headers

    erin = login(client, "erin")
    assert poster_of(client, erin).data == poster_of(client, erin, "classic").data
    ops = operator_headers(app, client)
    assert client.patch("/api/v1/admin/programme", json={"poster_template": "fresh"}, headers=ops).status_code == 200
    assert poster_of(client, erin).data == poster_of(client, erin, "fresh").data
    designs = client.get("/api/v1/poster-templates", headers=auth(erin)).get_json()["items"]
    assert [d["code"] for d in designs if d["default"]] == ["fresh"]
    assert client.patch("/api/v1/admin/programme", json={"poster_template": "nope"}, headers=ops).status_code == 422
