"""WeChat Pay (API v2) through wechatpy: the merchant client, moved to the sandbox when no
merchant is configured. wechatpy.pay keeps its address in one place, `WeChatPay.API_BASE_URL`."""
from __future__ import annotations

from flask import current_app
from wechatpy.pay import WeChatPay

SANDBOX_PAY_PATH = "mch/"


def pay_client() -> WeChatPay:
    client = current_app.extensions.get("wechat_pay")
    if client is None:
        from app.wechat import sandbox

        settings = current_app.config["SETTINGS"]
        mch_id = settings.wechat_pay_mch_id or sandbox.SANDBOX_MCH_ID
        api_key = settings.wechat_pay_api_key or sandbox.SANDBOX_PAY_KEY
        client = WeChatPay(settings.effective_wechat_appid, api_key, mch_id, timeout=settings.wechat_timeout_seconds)
        if not settings.wechat_pay_mch_id and settings.effective_wechat_api_base:
            client.API_BASE_URL = settings.effective_wechat_api_base + SANDBOX_PAY_PATH
        current_app.extensions["wechat_pay"] = client
    return client


def notify_url() -> str:
    base = current_app.config.get("PAYMENT_NOTIFY_BASE") or current_app.config["SETTINGS"].public_base_url
    return base.rstrip("/") + "/api/v1/payments/wechat/notify"


SUCCESS_REPLY = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
FAIL_REPLY = "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[{}]]></return_msg></xml>"
