"""The bot's callback URLs (what WeChat calls) and the bind codes members and staff ask for."""
from __future__ import annotations

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from app.auth.tokens import current_member
from app.members.schemas import ErrorOut
from app.staff.service import current_staff
from handlers import callbacks, linking

bp = APIBlueprint("bot", __name__, abp_tags=[Tag(name="公众号与企业微信机器人")],
                  abp_responses={"400": ErrorOut, "403": ErrorOut, "422": ErrorOut})

_TEXT = Field(default=None, max_length=512)


class SignedQuery(BaseModel):
    """What WeChat appends to the callback URL."""
    model_config = ConfigDict(extra="ignore")
    timestamp: str = Field(max_length=16)
    nonce: str = Field(max_length=64)
    signature: str | None = Field(default=None, max_length=64)
    msg_signature: str | None = Field(default=None, max_length=64)
    encrypt_type: str | None = Field(default=None, max_length=16)
    echostr: str | None = _TEXT
    openid: str | None = Field(default=None, max_length=64)


class BindCodeOut(BaseModel):
    code: str = Field(description="6 位绑定码,在公众号或企业微信里发送「绑定 123456」")
    expires_in: int


def _signed(query: SignedQuery) -> callbacks.Signed:
    return callbacks.Signed(query.timestamp, query.nonce, query.signature, query.msg_signature,
                            query.encrypt_type, query.echostr)


def _xml(body: str) -> Response:
    return Response(body, mimetype="application/xml" if body.startswith("<") else "text/plain")


@bp.get("/wechat/mp/callback")
def mp_check(query: SignedQuery):
    """公众号服务器配置校验(原样返回 echostr)"""
    return Response(callbacks.verify_mp_url(_signed(query)), mimetype="text/plain")


@bp.post("/wechat/mp/callback")
def mp_message(query: SignedQuery):
    """公众号消息与事件(明文或安全模式),会员指令"""
    return _xml(callbacks.handle_mp(_signed(query), request.get_data()))


@bp.get("/wechat/work/callback")
def work_check(query: SignedQuery):
    """企业微信自建应用回调校验(解密 echostr)"""
    return Response(callbacks.verify_work_url(_signed(query)), mimetype="text/plain")


@bp.post("/wechat/work/callback")
def work_message(query: SignedQuery):
    """企业微信自建应用消息,店员指令"""
    return _xml(callbacks.handle_work(_signed(query), request.get_data()))


@bp.post("/api/v1/me/bot-bind-code", responses={201: BindCodeOut}, security=[{"member": []}])
def member_bind_code():
    """获取绑定公众号的一次性绑定码(10 分钟有效)"""
    return linking.issue_code("member", current_member().id), 201


@bp.post("/api/v1/staff/bot-bind-code", responses={201: BindCodeOut}, security=[{"staff": []}])
def staff_bind_code():
    """店员获取绑定企业微信的一次性绑定码(10 分钟有效)"""
    return linking.issue_code("staff", current_staff().id), 201
