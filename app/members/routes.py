"""Mini-program endpoints for a member's own account."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from app.auth import tokens
from app.auth.tokens import current_member
from app.members import service
from app.members.schemas import ErrorOut, LoginBody, LoginOut, MemberSelf, PhoneBody, ProfileUpdate

bp = APIBlueprint("members", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="会员", description="登录与个人资料")],
                  abp_responses={"422": ErrorOut})
MEMBER = [{"member": []}]


@bp.post("/auth/login", responses={200: LoginOut, 400: ErrorOut, 502: ErrorOut})
def login(body: LoginBody):
    """微信登录:用 wx.login() 的 code 换取会员令牌"""
    result = service.login(body.code, body.scene)
    issued = tokens.issue("member", result.member.id, current_app.config["SETTINGS"].member_token_ttl_seconds)
    return LoginOut(token=issued.token, expires_at=issued.expires_at, created=result.created,
                    member=MemberSelf.of(result.member)).model_dump(mode="json")


@bp.get("/me", security=MEMBER, responses={200: MemberSelf, 401: ErrorOut})
def get_me():
    """我的资料"""
    return MemberSelf.of(current_member()).model_dump(mode="json")


@bp.patch("/me", security=MEMBER, responses={200: MemberSelf, 401: ErrorOut, 409: ErrorOut})
def update_me(body: ProfileUpdate):
    """修改资料(仅限昵称、头像、性别、生日、地区与企业信息)"""
    member = service.update_profile(current_member(), body.model_dump(exclude_unset=True))
    return MemberSelf.of(member).model_dump(mode="json")


@bp.post("/me/phone", security=MEMBER, responses={200: MemberSelf, 400: ErrorOut, 409: ErrorOut})
def bind_phone(body: PhoneBody):
    """绑定手机号(getPhoneNumber 的 code)"""
    return MemberSelf.of(service.bind_phone(current_member(), body.code)).model_dump(mode="json")


@bp.delete("/me", security=MEMBER, responses={204: None, 401: ErrorOut})
def delete_me():
    """注销账号:清除个人信息,剩余积分(含待入账)作废清零,积分流水匿名保留"""
    service.erase(current_member())
    return "", 204
