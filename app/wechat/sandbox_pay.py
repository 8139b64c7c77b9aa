"""WeChat Pay (API v2: XML bodies, MD5 or HMAC-SHA256 signatures) in the local WeChat sandbox.

`app.wechat.sandbox` mixes `PayStateMixin` into its `SandboxState` and calls `register_pay_routes`;
this module never imports that one.

Pointing wechatpy at it (wechatpy 2.0.0a26): `WeChatPay._request` builds `f"{api_base_url}{endpoint}"`
with endpoints `pay/unifiedorder`, `pay/orderquery`, `pay/closeorder`, `secapi/pay/refund`, so the
sandbox answers under `/mch/` and ONE attribute has to move, per instance:

    pay = WeChatPay(appid, SANDBOX_PAY_KEY, SANDBOX_MCH_ID)
    pay.API_BASE_URL = sandbox_base_url + "mch/"     # e.g. http://127.0.0.1:8900/mch/

The API groups (`pay.order`, `pay.refund`, ...) have no `API_BASE_URL` of their own in a26
(`BaseWeChatPayAPI._post` passes one only if the group has it), so unlike `client.wxa` nothing else
wins. Keep `sandbox=False`: wechatpy's `sandbox=True` means WeChat's own `sandboxnew/` test system,
which this sandbox does not imitate. Always pass `client_ip` to `pay.order.create`, or wechatpy
resolves api.mch.weixin.qq.com in DNS on every call. Client certificates are not checked.

Simulating the member paying (what the WeChat client would do): `POST /_sandbox/pay/<out_trade_no>/pay`
or `state.pay(out_trade_no)` marks the order paid and POSTs WeChat's signed payment notification to
its notify_url; `POST /_sandbox/pay/<out_trade_no>/notify` sends the same notification again, as
WeChat retries. Refunds complete at once and send no refund notification.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from xml.parsers.expat import ExpatError

import requests
import xmltodict
from flask import Flask, Response, jsonify, request
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

if TYPE_CHECKING:
    from app.wechat.sandbox import Fault

SANDBOX_MCH_ID = "1900000109"
SANDBOX_PAY_KEY = "sandboxpaykey0123456789abcdefABCD"

PAY_ENDPOINTS = ("pay_unifiedorder", "pay_orderquery", "pay_closeorder", "pay_refund")
PAY_NOTIFY = "pay_notify"
PAY_NOTIFY_TIMEOUT_SECONDS = 5.0
MAX_XML_BYTES = 64 * 1024
CHINA = timezone(timedelta(hours=8))

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
FEE = re.compile(r"[1-9][0-9]{0,9}")
TRADE_TYPES = ("JSAPI", "NATIVE", "APP", "MWEB")
TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "订单发生过退款"}
ERR_CODE_DES = {"SYSTEMERROR": "系统错误", "ORDERNOTEXIST": "订单不存在", "ORDERPAID": "订单已支付",
                "ORDERCLOSED": "订单已关闭", "TRADE_STATE_ERROR": "订单状态错误", "NOTENOUGH": "余额不足",
                "BIZERR_NEED_RETRY": "退款业务流程错误，需要商户触发重试来解决", "FREQUENCY_LIMITED": "频率限制"}


class PayFail(Exception):
    """Raised inside an operation: WeChat answers return_code SUCCESS, result_code FAIL and this err_code."""

    def __init__(self, err_code: str, err_code_des: str | None = None) -> None:
        super().__init__(err_code)
        self.err_code, self.err_code_des = err_code, err_code_des or ERR_CODE_DES.get(err_code, err_code)


class PayControlError(Exception):
    """A /_sandbox/pay control that cannot be done: `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class PayRefund:
    out_refund_no: str
    refund_id: str
    refund_fee: int


@dataclass
class PayOrder:
    mch_id: str
    appid: str
    out_trade_no: str
    total_fee: int
    body: str
    notify_url: str
    trade_type: str
    prepay_id: str
    openid: str | None = None
    attach: str | None = None
    state: str = "NOTPAY"
    transaction_id: str | None = None
    time_end: str | None = None
    refunds: dict[str, PayRefund] = field(default_factory=dict)
    notification: dict[str, Any] | None = None

    @property
    def refunded(self) -> int:
        return sum(r.refund_fee for r in self.refunds.values())

    def summary(self) -> dict[str, Any]:
        return {"mch_id": self.mch_id, "appid": self.appid, "out_trade_no": self.out_trade_no,
                "total_fee": self.total_fee, "body": self.body, "trade_type": self.trade_type,
                "openid": self.openid, "trade_state": self.state, "transaction_id": self.transaction_id,
                "time_end": self.time_end, "refunded_fee": self.refunded, "notify_url": self.notify_url}


def _digits(n: int) -> str:
    return f"{secrets.randbelow(10 ** n):0{n}d}"


def sign(fields: dict[str, Any], key: str, sign_type: str | None = None) -> str:
    """WeChat Pay v2 signature of `fields` (without `sign`): wechatpy's own functions, so both sides agree."""
    if sign_type == "HMAC-SHA256":
        return calculate_signature_hmac(fields, key)
    return calculate_signature(fields, key)


def to_xml(fields: dict[str, Any]) -> str:
    """WeChat's XML: one element per field; text with markup characters goes in CDATA."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if any(c in text for c in "<>&"):
            text = "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
        parts.append(f"<{name}>{text}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


def parse_xml(raw: bytes) -> dict[str, str | None]:
    """The fields of a flat WeChat XML document; ValueError if it is not one."""
    if not raw or len(raw) > MAX_XML_BYTES:
        raise ValueError("empty or too large")
    try:
        document = xmltodict.parse(raw)
    except (ExpatError, xmltodict.ParsingInterrupted, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None
    fields = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(fields, dict) or not all(v is None or isinstance(v, str) for v in fields.values()):
        raise ValueError("not a flat <xml> document")
    return dict(fields)


def _required(fields: dict[str, str | None], *names: str) -> None:
    missing = [n for n in names if not fields.get(n)]
    if missing:
        raise PayFail("LACK_PARAMS", f"缺少参数: {', '.join(missing)}")


def _fee(fields: dict[str, str | None], name: str) -> int:
    value = fields.get(name) or ""
    if not FEE.fullmatch(value):
        raise PayFail("PARAM_ERROR", f"{name}参数格式错误")
    return int(value)


class PayStateMixin:
    """The payment half of `SandboxState`: merchants, orders and refunds, under the state's lock.

    The host class provides `lock`, `pay_keys` (mch_id -> API key) and `record(...)`, and calls
    `_reset_pay()` from `reset()` while holding the lock.
    """

    lock: threading.Lock
    pay_keys: dict[str, str]
    record: Callable[..., None]

    def _reset_pay(self) -> None:
        self.pay_orders: dict[tuple[str, str], PayOrder] = {}

    def pay_key(self, mch_id: str | None) -> str | None:
        with self.lock:
            return self.pay_keys.get(mch_id or "")

    def pay_order_summaries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [order.summary() for order in self.pay_orders.values()]

    # ---- the member paying and WeChat notifying: Python API behind the /_sandbox/pay controls

    def pay(self, out_trade_no: str, mch_id: str | None = None, *, now: float | None = None,
            deliver: bool = True) -> dict[str, Any]:
        """The member pays order `out_trade_no`: SUCCESS with a transaction_id, then the payment notification
        is POSTed to its notify_url (outside the lock). Raises PayControlError 404 (no such order),
        400 (several merchants have it: pass mch_id) or 409 (not NOTPAY). With `deliver=False` nothing is
        sent and the answer holds the notification's XML, for posting it yourself (e.g. via a test client)."""
        now = time.time() if now is None else now
        with self.lock:
            order = self._find_order(out_trade_no, mch_id)
            if order.state != "NOTPAY":
                raise PayControlError(409, f"order {out_trade_no} is {order.state}: only NOTPAY orders can be paid")
            order.state, order.transaction_id = "SUCCESS", "4200" + _digits(24)
            order.time_end = datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d%H%M%S")
            order.notification = self._notification(order)
            url, notification = order.notify_url, dict(order.notification)
        return self._deliver(url, notification, now, deliver)

    def resend_notification(self, out_trade_no: str, mch_id: str | None = None, *, now: float | None = None,
                            deliver: bool = True) -> dict[str, Any]:
        """POST the paid order's notification again, unchanged (WeChat retries until the app acknowledges)."""
        now = time.time() if now is None else now
        with self.lock:
            order = self._find_order(out_trade_no, mch_id)
            if order.notification is None:
                raise PayControlError(409, f"order {out_trade_no} is {order.state}: it was never paid")
            url, notification = order.notify_url, dict(order.notification)
        return self._deliver(url, notification, now, deliver)

    def _find_order(self, out_trade_no: str, mch_id: str | None) -> PayOrder:
        found = [o for (m, no), o in self.pay_orders.items() if no == out_trade_no and mch_id in (None, m)]
        if not found:
            raise PayControlError(404, f"no order {out_trade_no}")
        if len(found) > 1:
            raise PayControlError(400, f"several merchants have order {out_trade_no}: pass mch_id")
        return found[0]

    def _notification(self, order: PayOrder) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "return_code": "SUCCESS", "return_msg": "OK", "appid": order.appid, "mch_id": order.mch_id,
            "nonce_str": secrets.token_hex(16), "result_code": "SUCCESS", "openid": order.openid,
            "is_subscribe": "N", "trade_type": order.trade_type, "bank_type": "OTHERS",
            "total_fee": order.total_fee, "fee_type": "CNY", "cash_fee": order.total_fee,
            "transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no, "attach": order.attach,
            "time_end": order.time_end,
        }
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        fields["sign"] = sign(fields, self.pay_keys.get(order.mch_id, ""))
        return fields

    def _deliver(self, url: str, notification: dict[str, Any], now: float, deliver: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {"out_trade_no": notification["out_trade_no"],
                                  "transaction_id": notification["transaction_id"], "notify_url": url}
        xml = to_xml(notification)
        if not deliver:
            return {**answer, "xml": xml}
        try:
            reply = requests.post(url, data=xml.encode("utf-8"), headers={"Content-Type": "text/xml"},
                                  timeout=PAY_NOTIFY_TIMEOUT_SECONDS, allow_redirects=False)
        except requests.RequestException as error:
            answer.update(status=None, body="", acknowledged=False, error=f"{type(error).__name__}: {error}")
        else:
            try:
                acknowledged = parse_xml(reply.content).get("return_code") == "SUCCESS"
            except ValueError:
                acknowledged = False
            answer.update(status=reply.status_code, body=reply.text[:2000],
                          acknowledged=reply.status_code == 200 and acknowledged)
        recorded = {k: v for k, v in answer.items() if k not in ("out_trade_no", "transaction_id", "notify_url")}
        self.record(now, PAY_NOTIFY, {"url": url}, notification, recorded)
        return answer

    # ---- the merchant API: each takes the verified request fields, returns the result fields or raises PayFail

    def _op_unifiedorder(self, f: dict[str, str | None], now: float) -> dict[str, Any]:
        _required(f, "appid", "body", "out_trade_no", "total_fee", "notify_url", "trade_type", "spbill_create_ip")
        total_fee, mch_id, no = _fee(f, "total_fee"), f["mch_id"] or "", f["out_trade_no"] or ""
        if not OUT_TRADE_NO.fullmatch(no):
            raise PayFail("PARAM_ERROR", "out_trade_no参数格式错误(6到32位数字、字母或_-|*)")
        if len((f["body"] or "").encode("utf-8")) > 128:
            raise PayFail("PARAM_ERROR", "body参数长度有误")
        if not re.fullmatch(r"https?://[^\s?#]+", f["notify_url"] or ""):
            raise PayFail("PARAM_ERROR", "notify_url参数格式错误(http或https地址,不能携带参数)")
        if f["trade_type"] not in TRADE_TYPES:
            raise PayFail("PARAM_ERROR", "trade_type参数格式错误")
        if f["trade_type"] == "JSAPI" and not f.get("openid"):
            raise PayFail("PARAM_ERROR", "JSAPI支付必须传openid")
        if f["trade_type"] == "NATIVE" and not f.get("product_id"):
            raise PayFail("PARAM_ERROR", "NATIVE支付必须传product_id")
        with self.lock:
            order = self.pay_orders.get((mch_id, no))
            if order is None:
                order = PayOrder(mch_id, f["appid"] or "", no, total_fee, f["body"] or "", f["notify_url"] or "",
                                 f["trade_type"] or "", "wx" + secrets.token_hex(15), f.get("openid"), f.get("attach"))
                self.pay_orders[(mch_id, no)] = order
            elif order.state in ("SUCCESS", "REFUND"):
                raise PayFail("ORDERPAID", "该订单已支付")
            elif order.state == "CLOSED":
                raise PayFail("ORDERCLOSED", "该订单已关闭")
            elif order.total_fee != total_fee:
                raise PayFail("INVALID_REQUEST", "201 商户订单号重复")
            result = {"trade_type": order.trade_type, "prepay_id": order.prepay_id}
        if result["trade_type"] == "NATIVE":
            result["code_url"] = "weixin://wxpay/bizpayurl?pr=" + result["prepay_id"][-7:]
        return result

    def _op_orderquery(self, f: dict[str, str | None], now: float) -> dict[str, Any]:
        _required(f, "appid")
        with self.lock:
            order = self._merchant_order(f)
            result: dict[str, Any] = {"out_trade_no": order.out_trade_no, "trade_state": order.state,
                                      "trade_state_desc": TRADE_STATE_DESC[order.state]}
            if order.transaction_id:
                result.update(transaction_id=order.transaction_id, total_fee=order.total_fee, fee_type="CNY",
                              cash_fee=order.total_fee, time_end=order.time_end, trade_type=order.trade_type,
                              openid=order.openid, is_subscribe="N", bank_type="OTHERS", attach=order.attach)
        return result

    def _op_closeorder(self, f: dict[str, str | None], now: float) -> dict[str, Any]:
        _required(f, "appid", "out_trade_no")
        with self.lock:
            order = self._merchant_order({**f, "transaction_id": None})
            if order.state in ("SUCCESS", "REFUND"):
                raise PayFail("ORDERPAID", "订单已支付，不能发起关单")
            if order.state == "CLOSED":
                raise PayFail("ORDERCLOSED", "订单已关闭，无法重复关闭")
            order.state = "CLOSED"
        return {"result_msg": "OK"}

    def _op_refund(self, f: dict[str, str | None], now: float) -> dict[str, Any]:
        _required(f, "appid", "out_refund_no", "total_fee", "refund_fee")
        total_fee, refund_fee, out_refund_no = _fee(f, "total_fee"), _fee(f, "refund_fee"), f["out_refund_no"] or ""
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise PayFail("PARAM_ERROR", "out_refund_no参数格式错误")
        with self.lock:
            order = self._merchant_order(f)
            refund = order.refunds.get(out_refund_no)
            if refund is not None:
                if refund.refund_fee != refund_fee or order.total_fee != total_fee:
                    raise PayFail("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")
            else:
                if any(out_refund_no in o.refunds for (m, _), o in self.pay_orders.items() if m == order.mch_id):
                    raise PayFail("INVALID_REQUEST", "商户退款单号重复")
                if order.state not in ("SUCCESS", "REFUND"):
                    raise PayFail("TRADE_STATE_ERROR", f"订单状态错误: {TRADE_STATE_DESC[order.state]}")
                if order.total_fee != total_fee:
                    raise PayFail("PARAM_ERROR", "total_fee与订单金额不一致")
                if order.refunded + refund_fee > order.total_fee:
                    raise PayFail("ERROR", "累计退款金额大于支付金额")
                refund = PayRefund(out_refund_no, "503" + _digits(26), refund_fee)
                order.refunds[out_refund_no] = refund
                if order.refunded == order.total_fee:
                    order.state = "REFUND"
            return {"transaction_id": order.transaction_id, "out_trade_no": order.out_trade_no,
                    "out_refund_no": out_refund_no, "refund_id": refund.refund_id, "refund_fee": refund.refund_fee,
                    "total_fee": order.total_fee, "cash_fee": order.total_fee, "cash_refund_fee": refund.refund_fee,
                    "refund_channel": "ORIGINAL"}

    def _merchant_order(self, f: dict[str, str | None]) -> PayOrder:
        """This merchant's order named by transaction_id (preferred) or out_trade_no; call holding the lock."""
        mch_id, transaction_id, no = f.get("mch_id") or "", f.get("transaction_id"), f.get("out_trade_no")
        if not transaction_id and not no:
            raise PayFail("LACK_PARAMS", "缺少参数: out_trade_no或transaction_id")
        if transaction_id:
            order = next((o for (m, _), o in self.pay_orders.items()
                          if m == mch_id and o.transaction_id == transaction_id), None)
        else:
            order = self.pay_orders.get((mch_id, no or ""))
        if order is None:
            raise PayFail("ORDERNOTEXIST", "此交易订单号不存在")
        return order


OPERATIONS: dict[str, tuple[str, Callable[[Any, dict[str, str | None], float], dict[str, Any]]]] = {
    "pay_unifiedorder": ("/mch/pay/unifiedorder", PayStateMixin._op_unifiedorder),
    "pay_orderquery": ("/mch/pay/orderquery", PayStateMixin._op_orderquery),
    "pay_closeorder": ("/mch/pay/closeorder", PayStateMixin._op_closeorder),
    "pay_refund": ("/mch/secapi/pay/refund", PayStateMixin._op_refund),
}


def answer(state: Any, endpoint: str, raw: bytes, now: float) -> tuple[dict[str, Any] | str | None, dict[str, Any]]:
    """Check and run one merchant API request: (the request fields as recorded, the reply fields)."""
    try:
        fields = parse_xml(raw)
    except ValueError:
        return raw[:2000].decode("utf-8", "replace"), {"return_code": "FAIL", "return_msg": "XML格式错误"}
    key, given, sign_type = state.pay_key(fields.get("mch_id")), fields.pop("sign", None), fields.get("sign_type")
    if key is None or not given or given != sign(fields, key, sign_type):
        return {**fields, "sign": given}, {"return_code": "FAIL", "return_msg": "签名错误"}
    reply: dict[str, Any] = {"return_code": "SUCCESS", "return_msg": "OK", "appid": fields.get("appid"),
                             "mch_id": fields.get("mch_id"), "nonce_str": secrets.token_hex(16)}
    try:
        if not fields.get("nonce_str"):
            raise PayFail("LACK_PARAMS", "缺少参数: nonce_str")
        fault: Fault | None = state.pop_fault(endpoint, fields)
        if fault is not None:
            raise PayFail(fault.errmsg or "SYSTEMERROR")
        reply.update(result_code="SUCCESS", **OPERATIONS[endpoint][1](state, fields, now))
    except PayFail as failure:
        reply.update(result_code="FAIL", err_code=failure.err_code, err_code_des=failure.err_code_des)
    reply = {k: v for k, v in reply.items() if v not in (None, "")}
    reply["sign"] = sign(reply, key, sign_type)
    return {**fields, "sign": given}, reply


def register_pay_routes(app: Flask, state: Any, clock: Callable[[], float]) -> None:
    """The merchant API under /mch/ and the /_sandbox/pay controls."""

    def serve(endpoint: str) -> Response:
        now = clock()
        fields, reply = answer(state, endpoint, request.get_data(), now)
        state.record(now, endpoint, request.args.to_dict(), fields, reply)
        return Response(to_xml(reply), content_type="text/xml; charset=utf-8")

    for endpoint, (rule, _) in OPERATIONS.items():
        app.add_url_rule(rule, endpoint, lambda endpoint=endpoint: serve(endpoint), methods=["POST"])

    def control(action: Callable[..., dict[str, Any]], out_trade_no: str) -> tuple[Response, int]:
        try:
            return jsonify(action(out_trade_no, request.args.get("mch_id") or None, now=clock())), 200
        except PayControlError as error:
            return jsonify(error=error.message), error.status

    app.add_url_rule("/_sandbox/pay/<out_trade_no>/pay", "sandbox_pay",
                     lambda out_trade_no: control(state.pay, out_trade_no), methods=["POST"])
    app.add_url_rule("/_sandbox/pay/<out_trade_no>/notify", "sandbox_pay_notify",
                     lambda out_trade_no: control(state.resend_notification, out_trade_no), methods=["POST"])
    app.add_url_rule("/_sandbox/pay/orders", "sandbox_pay_orders",
                     lambda: jsonify(orders=state.pay_order_summaries()), methods=["GET"])


def describe_pay(view: dict[str, Any]) -> dict[str, Any]:
    """A payment record as the /_sandbox/ page shows it ("支付" rows): order number, fee, state or outcome."""
    body = view["body"] if isinstance(view["body"], dict) else {}
    response = view["response"]
    if view["endpoint"] == PAY_NOTIFY:
        view["ok"] = bool(response.get("acknowledged"))
        view["error"] = None if view["ok"] else f"应用未确认 (HTTP {response.get('status')}) {response.get('error', '')}"
        state = "SUCCESS (支付通知)"
    else:
        view["ok"] = response.get("return_code") == "SUCCESS" and response.get("result_code") == "SUCCESS"
        view["error"] = None if view["ok"] else " ".join(
            str(response[k]) for k in ("return_msg", "err_code", "err_code_des")
            if response.get(k) and not (k == "return_msg" and response[k] == "OK"))
        state = response.get("trade_state") or (None if not view["ok"] else {
            "pay_unifiedorder": "NOTPAY (已下单)", "pay_closeorder": "CLOSED",
            "pay_refund": f"退款 {response.get('refund_fee')} 分"}.get(view["endpoint"]))
    view["label"] = "支付"
    view["fields"] = [(name, value) for name, value in (
        ("out_trade_no", body.get("out_trade_no") or response.get("out_trade_no")),
        ("金额(分)", body.get("total_fee") or response.get("total_fee")), ("状态", state),
        ("prepay_id", response.get("prepay_id")),
        ("transaction_id", body.get("transaction_id") or response.get("transaction_id"))) if value]
    return view
