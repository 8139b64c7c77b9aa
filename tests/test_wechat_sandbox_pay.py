"""WeChat Pay (API v2) in the sandbox over real HTTP, driven through wechatpy's WeChatPay as the app drives it.

Standalone: the sandbox and a small notify_url receiver run on their own thread servers.
"""
from __future__ import annotations

import threading

import pytest
import requests
from flask import Flask, request
from wechatpy.exceptions import InvalidSignatureException, WeChatPayException
from wechatpy.pay import WeChatPay
from werkzeug.serving import make_server

from app.wechat.sandbox import SANDBOX_MCH_ID, SANDBOX_PAY_KEY, SandboxState, sandbox_openid, serve_in_thread

APPID = "wx_sandbox_test"
OPENID = sandbox_openid(APPID, "alice")
ACK = "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"


def pay_client(base: str, api_key: str = SANDBOX_PAY_KEY, mch_id: str = SANDBOX_MCH_ID) -> WeChatPay:
    pay = WeChatPay(APPID, api_key, mch_id, timeout=5)
    pay.API_BASE_URL = base + "mch/"  # the only base URL: the API groups have none of their own
    return pay


class Receiver:
    """The app's notify_url: verifies like the app will, records what it got, acknowledges like WeChat wants."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.states: list[str] = []  # what orderquery said while handling the notification
        self.rejected = 0
        self.pay: WeChatPay | None = None
        self.verifier = WeChatPay(APPID, SANDBOX_PAY_KEY, SANDBOX_MCH_ID)
        self.app = Flask(__name__)
        self.app.add_url_rule("/pay/notify", "notify", self.notify, methods=["POST"])

    def notify(self):
        try:
            self.got.append(self.verifier.parse_payment_result(request.get_data()))
            if self.pay is not None:  # apps confirm with orderquery: the sandbox must not hold its lock meanwhile
                self.states.append(self.pay.order.query(out_trade_no=self.got[-1]["out_trade_no"])["trade_state"])
        except InvalidSignatureException:
            self.rejected += 1
            return "<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>", 400
        return ACK, 200, {"Content-Type": "text/xml"}


@pytest.fixture(scope="module")
def servers():
    state = SandboxState()
    sandbox, base = serve_in_thread(state)
    receiver = Receiver()
    receiver.pay = pay_client(base)
    server = make_server("127.0.0.1", 0, receiver.app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state, base, receiver, f"http://127.0.0.1:{server.server_port}/pay/notify"
    server.shutdown()
    sandbox.shutdown()


@pytest.fixture
def env(servers):
    state, base, receiver, notify_url = servers
    state.reset()
    receiver.got.clear()
    receiver.states.clear()
    receiver.rejected = 0
    return state, base, receiver, notify_url


def create(pay: WeChatPay, notify_url: str, no: str, fee: int = 1234, **extra) -> dict:
    return pay.order.create("JSAPI", "会员积分+现金兑换", fee, notify_url, client_ip="127.0.0.1",
                            user_id=OPENID, out_trade_no=no, **extra)


def err_code(call, *args, **kwargs) -> str | None:
    with pytest.raises(WeChatPayException) as caught:
        call(*args, **kwargs)
    return caught.value.errcode


def test_pay_flow_order_notify_query_close_refund(env):
    state, base, receiver, notify_url = env
    pay = pay_client(base)
    order = create(pay, notify_url, "ORDER000001", attach="points=500")
    assert order["return_code"] == order["result_code"] == "SUCCESS"
    assert order["prepay_id"].startswith("wx") and len(order["prepay_id"]) == 32
    assert pay.check_signature(dict(order))
    assert create(pay, notify_url, "ORDER000001")["prepay_id"] == order["prepay_id"]
    with pytest.raises(WeChatPayException) as caught:
        create(pay, notify_url, "ORDER000001", fee=999)
    assert (caught.value.errcode, caught.value.errmsg) == ("INVALID_REQUEST", "201 商户订单号重复")
    assert pay.order.query(out_trade_no="ORDER000001")["trade_state"] == "NOTPAY"

    paid = requests.post(base + "_sandbox/pay/ORDER000001/pay", timeout=5).json()
    assert paid["status"] == 200 and paid["acknowledged"] is True and paid["notify_url"] == notify_url
    [note] = receiver.got
    assert receiver.rejected == 0 and receiver.states == ["SUCCESS"]
    assert note["total_fee"] == note["cash_fee"] == 1234 and note["result_code"] == "SUCCESS"
    assert (note["out_trade_no"], note["openid"], note["attach"]) == ("ORDER000001", OPENID, "points=500")
    assert note["transaction_id"] == paid["transaction_id"] and len(note["time_end"]) == 14
    assert {"appid", "mch_id", "nonce_str", "trade_type", "bank_type", "sign"} <= set(note)

    again = requests.post(base + "_sandbox/pay/ORDER000001/notify", timeout=5).json()
    assert again["acknowledged"] and receiver.got[1] == note  # the same notification: apps must be idempotent

    queried = pay.order.query(transaction_id=paid["transaction_id"])
    assert (queried["trade_state"], queried["total_fee"]) == ("SUCCESS", "1234")
    assert err_code(pay.order.close, "ORDER000001") == "ORDERPAID"
    assert err_code(create, pay, notify_url, "ORDER000001") == "ORDERPAID"

    part = pay.refund.apply(1234, 234, "REFUND01", out_trade_no="ORDER000001")
    assert part["refund_id"] and part["refund_fee"] == "234"
    assert pay.refund.apply(1234, 234, "REFUND01", out_trade_no="ORDER000001")["refund_id"] == part["refund_id"]
    assert pay.order.query(out_trade_no="ORDER000001")["trade_state"] == "SUCCESS"
    assert err_code(pay.refund.apply, 1234, 1001, "REFUND02", out_trade_no="ORDER000001") == "ERROR"
    pay.refund.apply(1234, 1000, "REFUND02", transaction_id=paid["transaction_id"])
    assert pay.order.query(out_trade_no="ORDER000001")["trade_state"] == "REFUND"

    endpoints = [r["endpoint"] for r in state.requests()]
    assert {"pay_unifiedorder", "pay_orderquery", "pay_closeorder", "pay_refund", "pay_notify"} <= set(endpoints)
    page = requests.get(base + "_sandbox/", timeout=5).text
    assert 'class="label">支付' in page and "ORDER000001" in page and "REFUND" in page and "1234" in page
    everything = requests.get(base + "_sandbox/requests", timeout=5).text + page
    assert SANDBOX_PAY_KEY not in everything


def test_unknown_orders_unpaid_refunds_and_closed_orders(env):
    state, base, receiver, notify_url = env
    pay = pay_client(base)
    assert err_code(pay.order.query, out_trade_no="NOSUCHORDER") == "ORDERNOTEXIST"
    create(pay, notify_url, "ORDER000002", fee=500)
    assert err_code(pay.refund.apply, 500, 500, "R2", out_trade_no="ORDER000002") == "TRADE_STATE_ERROR"
    assert pay.order.close("ORDER000002")["result_code"] == "SUCCESS"
    assert pay.order.query(out_trade_no="ORDER000002")["trade_state"] == "CLOSED"
    refused = requests.post(base + "_sandbox/pay/ORDER000002/pay", timeout=5)
    assert refused.status_code == 409 and "CLOSED" in refused.json()["error"]
    assert requests.post(base + "_sandbox/pay/NOSUCHORDER/pay", timeout=5).status_code == 404
    assert requests.post(base + "_sandbox/pay/ORDER000002/notify", timeout=5).status_code == 409
    assert receiver.got == []
    with pytest.raises(WeChatPayException) as caught:
        pay.order.create("JSAPI", "x", 100, notify_url, client_ip="127.0.0.1", out_trade_no="ORDER000003")
    assert caught.value.errmsg == "JSAPI支付必须传openid"


def test_wrong_key_or_merchant_gets_the_signature_failure(env):
    state, base, receiver, notify_url = env
    for client in (pay_client(base, api_key="x" * 32), pay_client(base, mch_id="1900000999")):
        with pytest.raises(WeChatPayException) as caught:
            create(client, notify_url, "ORDER000004")
        assert (caught.value.return_code, caught.value.return_msg) == ("FAIL", "签名错误")
    raw = requests.post(base + "mch/pay/orderquery", data=b"<xml><mch_id>1900000109</mch_id></xml>", timeout=5)
    assert raw.text == "<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>"
    assert state.pay_orders == {}


def test_python_pay_and_injected_pay_faults(env):
    state, base, receiver, notify_url = env
    pay = pay_client(base)
    fault = {"endpoint": "pay_unifiedorder", "errmsg": "SYSTEMERROR", "match": {"out_trade_no": "ORDER000005"}}
    assert requests.post(base + "_sandbox/faults", json=fault, timeout=5).status_code == 201
    assert err_code(create, pay, notify_url, "ORDER000005") == "SYSTEMERROR"
    create(pay, notify_url, "ORDER000005", fee=1)
    state.add_fault("pay_orderquery", errcode=-1, errmsg="ORDERNOTEXIST")
    assert err_code(pay.order.query, out_trade_no="ORDER000005") == "ORDERNOTEXIST"

    offline = state.pay("ORDER000005", deliver=False)
    assert receiver.got == [] and pay.parse_payment_result(offline["xml"])["total_fee"] == 1
    with pytest.raises(InvalidSignatureException):
        pay_client(base, api_key="y" * 32).parse_payment_result(offline["xml"])
    assert state.resend_notification("ORDER000005")["acknowledged"] and receiver.got[0]["total_fee"] == 1
    assert pay.order.query(out_trade_no="ORDER000005")["trade_state"] == "SUCCESS"
