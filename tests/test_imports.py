"""Imports from the previous system: members and opening balances from CSV, through the API (an RQ
job, run here by a real worker in burst mode) and the CLI."""
from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from app.extensions import db
from app.imports import service
from app.members.models import Member
from app.points.models import LedgerEntry, LedgerOperation, PointAccount
from tasks.queues import make_worker, queue
from tests.support import auth, login, operator_headers

HEADER = "external_id,phone,nickname,birthday,points,growth,joined_at\n"
MIXED = HEADER + (
    "A001,13800138001,Alice,1990-05-03,1200,300,2021-03-04\n"   # row 2: good
    "A002,+86 139-0013-8002,Bob,,0,0,\n"                         # row 3: good, no balance
    "A003,12345,Carl,,10,,\n"                                    # row 4: bad phone
    "A004,13800138004,Dan,1990-13-01,5,,\n"                      # row 5: bad date
    "A005,13800138005,Eve,,-5,,\n"                               # row 6: negative points
    "A006,13800138006,Fay,,12.5,,\n"                             # row 7: a float
    "A007,13800138007,Gus,,99999999999,,\n"                      # row 8: past the ledger's cap
    "A001,13800138008,Dup,,1,,\n"                                # row 9: external id of row 2 again
    "A009,13800138001,Twin,,1,,\n"                               # row 10: phone of row 2 again
    ",,,,,,\n"                                                   # row 11: blank, left out
    "A010,13800138010,Hal,,0,50,\n"                              # row 12: good, growth only
)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def work(app) -> None:
    make_worker(app, fork=False).work(burst=True, with_scheduler=False)


def upload(client, headers, content: bytes | str, filename: str = "members.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post("/api/v1/admin/imports/members", data={"file": (io.BytesIO(data), filename)},
                       headers=headers, content_type="multipart/form-data")


def imported(app, client, headers, content, filename: str = "members.csv") -> dict:
    """Upload, let the worker write it, and return the finished run."""
    response = upload(client, headers, content, filename)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "queued"
    work(app)
    return client.get(f"/api/v1/admin/imports/{response.get_json()['id']}?per_page=200", headers=headers).get_json()


@pytest.fixture
def admin(app, client):
    return operator_headers(app, client, "admin")


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Member)),
                db.session.scalar(select(func.count()).select_from(LedgerEntry)),
                db.session.scalar(select(func.count()).select_from(LedgerOperation)))


def imported_member(external_id: str) -> Member | None:
    return db.session.scalar(select(Member).where(Member.openid == f"import:{external_id}"))


def test_good_rows_are_imported_with_their_opening_balances_and_bad_rows_are_reported(app, client, admin):
    run = imported(app, client, admin, MIXED)

    assert (run["status"], run["total"], run["done"], run["percent"]) == ("finished", 10, 10, 100)
    assert (run["imported"], run["unchanged"], run["rejected"]) == (3, 0, 7)
    reasons = {item["row"]: [(p["column"], p["reason"]) for p in item["problems"]] for item in run["rejected_rows"]["items"]}
    assert reasons == {
        4: [("phone", "手机号须为 11 位中国大陆手机号")],
        5: [("birthday", "生日须为 YYYY-MM-DD 格式的有效日期")],
        6: [("points", "积分不能为负数")],
        7: [("points", "积分须为整数,不能有小数")],
        8: [("points", "积分超过上限 1000000000")],
        9: [("external_id", "外部编号与第 2 行重复")],
        10: [("phone", "手机号与第 2 行重复")],
    }
    with app.app_context():
        alice = imported_member("A001")
        assert (alice.phone, alice.nickname, alice.birthday, alice.register_scene) == (
            "13800138001", "Alice", date(1990, 5, 3), "import")
        assert alice.created_at == datetime(2021, 3, 4, tzinfo=SHANGHAI)
        account = db.session.get(PointAccount, alice.id)
        assert (account.available, account.growth) == (1200, 300)
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.member_id == alice.id)).all()
        operator = run["operator_id"]
        assert sorted((e.currency, e.amount, e.kind, e.reason_code, e.reason, e.source_id, e.operator_id)
                      for e in entries) == [
            ("growth", 300, "adjust", "opening_balance", "迁移期初余额", "A001", operator),
            ("points", 1200, "adjust", "opening_balance", "迁移期初余额", "A001", operator)]
        assert imported_member("A002").phone == "13900138002"
        assert db.session.get(PointAccount, imported_member("A002").id) is None
        assert db.session.get(PointAccount, imported_member("A010").id).growth == 50
        assert imported_member("A003") is None and imported_member("A009") is None

    report = client.get(f"/api/v1/admin/imports/{run['id']}/rejected.csv", headers=admin)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    text = report.data.decode("utf-8")
    assert text.startswith("\ufeff行号,外部编号,列,原因,值")
    lines = text.splitlines()[1:]
    assert len(lines) == 7
    assert "4,A003,手机号,手机号须为 11 位中国大陆手机号," in lines
    assert "6,A005,积分,积分不能为负数,'-5" not in lines and "6,A005,积分,积分不能为负数,-5" in lines
    assert "12345" not in text  # personal values are not repeated back


def test_the_same_file_again_writes_nothing(app, client, admin):
    imported(app, client, admin, MIXED)
    before = counts(app)

    again = imported(app, client, admin, MIXED)

    assert counts(app) == before
    assert (again["imported"], again["unchanged"], again["rejected"]) == (0, 3, 7)
    with app.app_context():
        assert db.session.get(PointAccount, imported_member("A001").id).available == 1200


def test_a_changed_opening_balance_is_rejected_and_a_first_one_is_posted_once(app, client, admin):
    imported(app, client, admin, HEADER + "A001,13800138001,Alice,,1200,,\nA002,13900139002,Bob,,0,,\n")

    run = imported(app, client, admin, HEADER + "A001,13800138001,Alice,,1500,,\nA002,13900139002,Bob,,80,,\n")
    assert (run["imported"], run["rejected"]) == (1, 1)
    problem = run["rejected_rows"]["items"][0]["problems"][0]
    assert problem["column"] == "points" and "积分 1200" in problem["reason"] and "只入账一次" in problem["reason"]
    again = imported(app, client, admin, HEADER + "A002,13900139002,Bob,,80,,\n")
    assert (again["imported"], again["unchanged"]) == (0, 1)
    with app.app_context():
        assert db.session.get(PointAccount, imported_member("A001").id).available == 1200
        assert db.session.get(PointAccount, imported_member("A002").id).available == 80


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_chinese_headers_in_gbk_or_utf8_with_or_without_bom(app, client, admin, encoding):
    content = ("外部编号,手机号,昵称,生日,积分,成长值,入会时间\n"
               "B001,13900139001,张三,1988/2/29,800,20,2019-07-01 09:30:00\n").encode(encoding)

    run = imported(app, client, admin, content)

    assert (run["status"], run["imported"], run["encoding"]) == ("finished", 1, encoding.replace("-sig", ""))
    with app.app_context():
        member = imported_member("B001")
        assert (member.nickname, member.birthday) == ("张三", date(1988, 2, 29))
        assert member.created_at == datetime(2019, 7, 1, 9, 30, tzinfo=SHANGHAI)
        assert db.session.get(PointAccount, member.id).available == 800


@pytest.mark.parametrize("filename, content, status, code", [
    ("members.xlsx", HEADER.encode(), 415, "import_not_csv"),
    ("members.csv", b"PK\x03\x04\x14\x00\x06\x00 an Excel workbook renamed", 415, "import_not_csv"),
    ("members.csv", "external_id,phone\r\n".encode("utf-16"), 415, "import_not_csv"),
    ("members.csv", b"external_id,nickname\nA1,x\n", 422, "import_missing_columns"),
    ("members.csv", "external_id,phone,积分余额\nA1,13800138001,5\n".encode(), 422, "import_unknown_columns"),
    ("members.csv", b"external_id,phone,phone\nA1,13800138001,13800138001\n", 422, "import_duplicate_columns"),
    ("members.csv", HEADER.encode() + b",,,,,,\n", 422, "import_no_rows"),
    ("members.csv", b"", 422, "import_empty"),
    ("members.csv", b"external_id,phone\n\xff\xfe\xfd,13800138001\n", 422, "import_bad_encoding"),
])
def test_a_refused_file_gets_a_4xx_and_writes_nothing(app, client, admin, filename, content, status, code):
    response = upload(client, admin, content, filename)

    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert_nothing_written(app)


def assert_nothing_written(app) -> None:
    assert counts(app) == (0, 0, 0)
    with app.app_context():
        assert redis_lib.Redis.from_url(app.config["REDIS_URL"]).keys("imports:*") == []
        assert queue("maintenance").count == 0


def test_missing_column_names_what_is_missing(client, admin):
    error = upload(client, admin, "外部编号,昵称\nA1,x\n").get_json()["error"]
    assert error["message"] == "缺少必需的列:手机号(phone)" and error["details"] == {"missing": ["phone"]}


def test_files_past_the_size_or_row_cap_are_413_and_a_file_past_the_usual_request_limit_is_not(
        app, client, admin, monkeypatch):
    row = "C{:05d},138{:08d},{},,10,,\n"
    big = HEADER + "".join(row.format(i, i, "会员" * 10) for i in range(3_500))
    size = len(big.encode())
    assert size > app.config["MAX_CONTENT_LENGTH"]  # past the API's usual request limit
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", size + 1_000)
    assert upload(client, admin, big).status_code == 202

    for cap in (size - 1_000, size - 200_000):  # past the cap by less, then by more, than the multipart framing
        monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", cap)
        refused = upload(client, admin, big)
        assert refused.status_code == 413 and refused.get_json()["error"]["code"] == "import_file_too_large"
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", size + 1_000)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3_000)
    refused = upload(client, admin, big)
    assert refused.status_code == 413 and refused.get_json()["error"]["code"] == "import_too_many_rows"


def test_an_analyst_may_not_import_or_see_imports(app, client, admin):
    analyst = operator_headers(app, client, "analyst")
    refused = upload(client, analyst, MIXED)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "role_forbidden"
    assert upload(client, {}, MIXED).status_code == 401
    assert_nothing_written(app)

    run_id = upload(client, admin, MIXED).get_json()["id"]
    assert client.get(f"/api/v1/admin/imports/{run_id}", headers=analyst).status_code == 403
    assert client.get(f"/api/v1/admin/imports/{run_id}/rejected.csv", headers=analyst).status_code == 403
    assert client.get("/api/v1/admin/imports/0123456789abcdef", headers=admin).status_code == 404


def test_progress_counts_every_batch_up_to_the_total(app, client, admin, monkeypatch):
    monkeypatch.setattr(service, "BATCH_ROWS", 2)
    queued = upload(client, admin, MIXED).get_json()
    assert (queued["status"], queued["total"], queued["done"], queued["percent"]) == ("queued", 10, 0, 0)
    seen = []
    real_advance = service.runs.advance

    def advance(run_id, **counts):
        real_advance(run_id, **counts)
        seen.append(client.get(f"/api/v1/admin/imports/{run_id}", headers=admin).get_json())

    monkeypatch.setattr(service.runs, "advance", advance)
    work(app)

    assert [(s["status"], s["done"]) for s in seen] == [("running", n) for n in (2, 4, 6, 8, 10)]
    final = client.get(f"/api/v1/admin/imports/{queued['id']}?page=2&per_page=5", headers=admin).get_json()
    assert (final["status"], final["done"], final["total"], final["percent"]) == ("finished", 10, 10, 100)
    assert final["rejected_rows"]["total"] == 7 and [i["row"] for i in final["rejected_rows"]["items"]] == [9, 10]


def test_a_job_that_fails_midway_resumes_after_its_last_batch(app, client, admin, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_RETRY", (1, [0]))  # retried at once, in the same burst
    monkeypatch.setattr(service, "BATCH_ROWS", 2)
    real_write = service._write_batch
    calls = []

    def flaky(batch, **kwargs):
        calls.append(len(batch))
        if len(calls) == 3:
            service._try_batch(batch, **kwargs)  # written, then the process "dies" before the commit
            raise ConnectionError("database went away")
        return real_write(batch, **kwargs)

    monkeypatch.setattr(service, "_write_batch", flaky)
    run = imported(app, client, admin, MIXED)

    assert len(calls) == 6  # batches 1-2, the failed 3rd, then 3rd to 5th again
    assert (run["status"], run["done"], run["imported"], run["rejected"]) == ("finished", 10, 3, 7)
    assert run["error"] is None
    with app.app_context():
        assert db.session.get(PointAccount, imported_member("A001").id).available == 1200
    assert counts(app)[0] == 3


def test_the_cli_imports_a_file_with_a_report_of_rejected_rows(app, client, tmp_path):
    operator_headers(app, client, "admin")
    source = tmp_path / "members.csv"
    source.write_bytes(MIXED.encode("gbk"))

    result = app.test_cli_runner().invoke(args=["import", "members", str(source), "--operator", "admin-op"])

    assert result.exit_code == 0, result.output
    assert "10 rows: 3 imported, 0 already imported, 7 rejected" in result.output
    report = (tmp_path / "members.rejected.csv").read_text(encoding="utf-8-sig")
    assert report.startswith("行号,外部编号,列,原因,值") and len(report.splitlines()) == 8
    again = app.test_cli_runner().invoke(args=["import", "members", str(source)])
    assert "10 rows: 0 imported, 3 already imported, 7 rejected" in again.output
    with app.app_context():
        assert db.session.get(PointAccount, imported_member("A001").id).available == 1200

    refused = app.test_cli_runner().invoke(args=["import", "members", str(tmp_path / "members.rejected.csv")])
    assert refused.exit_code == 1 and "无法识别的列" in refused.output


def test_a_phone_used_by_a_member_already_is_rejected_and_wechat_login_does_not_claim_an_import(app, client, admin):
    zed = login(client, "zed")
    assert client.post("/api/v1/me/phone", json={"code": "13800138001.1"}, headers=auth(zed)).status_code == 200

    run = imported(app, client, admin, HEADER + "A001,13800138001,Alice,,1200,,\nA002,13900139002,Bob,,5,,\n")
    assert (run["imported"], run["rejected"]) == (1, 1)
    assert run["rejected_rows"]["items"][0]["problems"][0]["reason"] == "手机号已被其他会员使用"

    # Documented limitation: the imported member's own WeChat login is a new member, and their phone is taken.
    bob = login(client, "bob")
    refused = client.post("/api/v1/me/phone", json={"code": "13900139002.1"}, headers=auth(bob))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "phone_taken"


def test_an_erased_members_external_id_is_not_imported_again(app, client, admin):
    from app.members.service import erase

    imported(app, client, admin, HEADER + "A001,13800138001,Alice,,1200,,\n")
    with app.app_context():
        erase(imported_member("A001"))

    run = imported(app, client, admin, HEADER + "A001,13800138001,Alice,,1200,,\n")

    assert (run["imported"], run["rejected"]) == (0, 1)
    assert run["rejected_rows"]["items"][0]["problems"][0]["column"] == "external_id"
    with app.app_context():
        assert imported_member("A001") is None
