"""Mall domain errors."""
from app.errors import Conflict, NotFound, Unprocessable

# Reasons a member can do something about (409) versus requests that can never succeed (422).
CONFLICT_REASONS = {"out_of_stock", "over_member_limit", "over_daily_limit", "insufficient_points"}


class NotRedeemable(Conflict):
    code, message = "not_redeemable", "当前无法兑换"


class OutOfStock(Conflict):
    code, message = "out_of_stock", "库存不足"


class UnknownOrder(NotFound):
    code, message = "unknown_order", "订单不存在"


class BadOrderState(Conflict):
    code, message = "order_state", "订单当前状态不允许该操作"


class AddressRequired(Unprocessable):
    code, message = "address_required", "快递商品须填写收货地址"
