"""The baseline for bench.checkin_http: a bare Flask endpoint doing one INSERT per request, with
the same driver and pool settings as the API, served by the same gunicorn settings."""
from __future__ import annotations

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from app.embedded import to_sqlalchemy_url

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = to_sqlalchemy_url(os.environ["DATABASE_URL"])
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
db = SQLAlchemy(app)


@app.post("/bare")
def bare():
    db.session.execute(text("INSERT INTO bench_bare (created_at) VALUES (now())"))
    db.session.commit()
    return {"ok": True}, 201
