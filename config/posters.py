"""Poster designs (data, not code): operators pick one with `?template=`. Positions are in pixels on
a 750 x 1334 canvas; colours are hex. Bump `version` when a design changes: cached posters of the
old version are not served again."""

POSTER_TEMPLATES = {
    "classic": {
        "version": 1, "name": "经典红", "size": [750, 1334],
        "background": ["#c8102e", "#7a0019"],  # a vertical gradient, top to bottom
        "headline": {"text": "邀你一起加入{programme}", "xy": [60, 120], "size": 46, "color": "#ffffff"},
        "subline": {"text": "注册并绑定手机号,我们都得积分", "xy": [60, 190], "size": 30, "color": "#ffd7a0"},
        "avatar": {"xy": [60, 300], "size": 140},
        "nickname": {"xy": [230, 340], "size": 40, "color": "#ffffff"},
        "card": {"box": [60, 520, 690, 1230], "color": "#ffffff"},
        "code": {"xy": [165, 600], "size": 420},
        "caption": {"text": "长按识别小程序码", "xy": [375, 1120], "size": 30, "color": "#666666"},
    },
    "fresh": {
        "version": 1, "name": "清新绿", "size": [750, 1334],
        "background": ["#e8f7ee", "#b9e5c9"],
        "headline": {"text": "好友专享 · {programme}", "xy": [60, 110], "size": 44, "color": "#14532d"},
        "subline": {"text": "扫码入会,好礼相送", "xy": [60, 180], "size": 30, "color": "#2f855a"},
        "avatar": {"xy": [305, 280], "size": 140},
        "nickname": {"xy": [375, 450], "size": 38, "color": "#14532d", "anchor": "mt"},
        "card": {"box": [90, 540, 660, 1200], "color": "#ffffff"},
        "code": {"xy": [165, 600], "size": 420},
        "caption": {"text": "长按识别,加入会员", "xy": [375, 1090], "size": 30, "color": "#2f855a"},
    },
}
DEFAULT_TEMPLATE = "classic"
