"""The console's import screen: upload a CSV, follow the run's progress, read and download the rejected rows."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from app.extensions import db
from app.members.models import Member
from tests.test_console import sign_in, token_of
from tests.test_imports import MIXED, work


def upload(console, data: bytes, name: str = "members.csv"):
    return console.post("/console/imports", data={"csrf_token": token_of(console, "/console/imports"),
                                                  "file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def test_an_upload_runs_and_its_page_shows_progress_then_the_rejected_rows(app):
    console = sign_in(app, "operator")
    started = upload(console, MIXED.encode("gbk"))
    assert started.status_code == 302
    run_page = started.headers["Location"]
    waiting = console.get(run_page).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and 'http-equiv="refresh"' in waiting
    assert 'id="import-progress" max="100" value="0"' in waiting

    work(app)
    done = console.get(run_page).get_data(as_text=True)
    assert 'data-status="finished"' in done and 'http-equiv="refresh"' not in done
    assert 'value="100"' in done
    assert '<b id="imported">3</b>' in done and '<b id="rejected">7</b>' in done
    assert "手机号" in done  # a rejected row's reason, in words
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 3

    report = console.get(run_page + "/rejected.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert report.get_data(as_text=True).count("\n") >= 8  # header and seven rows
    assert "members.csv" in console.get("/console/imports").get_data(as_text=True)


def test_a_file_that_is_not_csv_is_refused_on_the_form(app):
    console = sign_in(app, "operator")
    refused = upload(console, b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.png")
    assert refused.status_code == 422 and 'data-field="file"' in refused.get_data(as_text=True)
    assert upload(console, b"", "").status_code == 422


def test_only_writers_import(app):
    analyst = sign_in(app, "analyst")
    assert analyst.get("/console/imports").status_code == 403
    response = analyst.post("/console/imports", data={"csrf_token": token_of(analyst, "/console/"),
                                                      "file": (io.BytesIO(MIXED.encode()), "m.csv")},
                            content_type="multipart/form-data")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_an_unknown_run_is_404(app):
    console = sign_in(app, "operator")
    assert console.get("/console/imports/" + "f" * 16).status_code == 404
    assert console.get("/console/imports/" + "x" * 400 + "/rejected.csv").status_code == 404
