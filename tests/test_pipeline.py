"""Statements sent together in one round trip (`app.pipeline`), inside the session's transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from app import pipeline
from app.extensions import db
from app.members.models import Member
from tests.support import make_member

_RENAME = text("UPDATE members SET nickname = :name WHERE id = :id RETURNING id, nickname")
_SELECT = text("SELECT nickname FROM members WHERE id = :id")


def nickname(member_id: int) -> str | None:
    db.session.remove()
    return db.session.scalar(_SELECT, {"id": member_id})


def test_statements_run_in_order_and_the_last_ones_row_comes_back(ctx):
    member = make_member()
    row = pipeline.send([(_RENAME, {"name": "甲", "id": member}), (_SELECT, {"id": member})])
    assert row.nickname == "甲"
    db.session.rollback()  # not committed: nothing stays
    assert nickname(member) is None


def test_a_commit_sent_with_the_statements_ends_the_transaction(ctx):
    member = make_member()
    db.session.add(Member(appid="wx-test", openid="pending-before-the-send"))  # flushed, and committed with them
    row = pipeline.send([(_RENAME, {"name": "乙", "id": member})], commit=True)
    assert (row.id, row.nickname) == (member, "乙")
    assert not db.session().in_transaction()
    assert nickname(member) == "乙"
    assert db.session.scalar(text("SELECT count(*) FROM members WHERE openid = 'pending-before-the-send'")) == 1


def test_a_statement_that_is_the_whole_transaction_commits_by_itself(ctx):
    member = make_member()
    db.session.commit()
    row = pipeline.send([(_RENAME, {"name": "戊", "id": member})], commit=True)
    assert row.nickname == "戊" and not db.session().in_transaction()
    assert nickname(member) == "戊"
    db.session.commit()
    with pytest.raises(exc.DBAPIError):  # one statement is atomic: a failure in it leaves nothing
        pipeline.send([(text("WITH r AS (UPDATE members SET nickname = '己' WHERE id = :id) SELECT 1 / (:n - :n)"),
                        {"id": member, "n": 1})], commit=True)
    db.session.rollback()
    assert nickname(member) == "戊"
    assert pipeline.send([(_SELECT, {"id": member})]).nickname == "戊"  # the connection is back in transactions
    assert db.session.connection().connection.driver_connection.autocommit is False


def test_all_rows_of_the_last_statement_come_back_when_asked(ctx):
    first, second = make_member(), make_member()
    rows = pipeline.send([(text("SELECT id FROM members WHERE id IN (:a, :b) ORDER BY id"), {"a": first, "b": second})],
                         commit=True, all_rows=True)
    assert [row.id for row in rows] == sorted([first, second])
    assert pipeline.send([(_RENAME, {"name": "丁", "id": 0})], all_rows=True) == []


def test_a_failing_statement_commits_nothing_and_raises_as_sqlalchemy_would(ctx):
    member = make_member()
    with pytest.raises(exc.DBAPIError):
        pipeline.send([(_RENAME, {"name": "丙", "id": member}), (text("SELECT 1 / (:n - :n)"), {"n": 1})],
                      commit=True)
    db.session.rollback()
    assert nickname(member) is None
    assert pipeline.send([(_SELECT, {"id": member})]).nickname is None  # the session goes on as usual


def test_the_hot_statements_fit_psycopgs_parse_cache(ctx):
    """A longer statement is parsed again on every execution (see `app.sql`)."""
    from app import sql
    from app.checkin.service import _CHECK_IN_SQL
    from app.earning.engine import _OUTCOME_SQL, _RECORD_AND_EARN_SQL, _RECORD_SQL
    from app.points.service import _EARN_SQL, _SPEND_SQL

    dialect = db.engine.dialect
    for statement in (_RECORD_AND_EARN_SQL, _RECORD_SQL, _OUTCOME_SQL, _EARN_SQL, _SPEND_SQL, _CHECK_IN_SQL):
        assert len(str(statement.compile(dialect=dialect)).encode()) <= sql.MAX_CACHED


def test_compacting_keeps_string_literals():
    from app import sql

    assert sql.compact("SELECT  'a  b',\n   'it''s  '\n FROM t") == "SELECT 'a  b', 'it''s  ' FROM t"
    with pytest.raises(ValueError):
        sql.compact("SELECT 1 -- one")
