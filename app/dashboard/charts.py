"""The dashboard's charts as inline SVG, drawn on the server with pygal: no JavaScript, no CDN."""
from __future__ import annotations

import pygal
from pygal.style import Style

_STYLE = Style(font_family="'Noto Sans SC', 'Noto Sans CJK SC', sans-serif", background="white",
               plot_background="white", colors=("#c8102e", "#2f855a", "#3366cc", "#d69e2e", "#6b46c1"),
               label_font_size=11, major_label_font_size=11, legend_font_size=12, title_font_size=14)


def _options(title: str) -> dict:
    return {"title": title, "style": _STYLE, "js": [], "height": 300, "width": 720, "show_dots": False,
            "x_label_rotation": 30, "no_data_text": "暂无数据", "show_minor_x_labels": False, "truncate_label": 10, "legend_at_bottom": True}


def _svg(chart) -> str:
    return chart.render(is_unicode=True, disable_xml_declaration=True)


def _labels(chart, days: list[str]) -> None:
    chart.x_labels = [d[5:] for d in days]
    chart.x_labels_major = chart.x_labels[::max(1, len(days) // 10)]


def members_chart(daily: list[dict]) -> str:
    chart = pygal.Line(**_options("新增与活跃会员(每日)"))
    _labels(chart, [d["day"] for d in daily])
    chart.add("新增", [d["new_members"] for d in daily])
    chart.add("活跃", [d["active_members"] for d in daily])
    chart.add("签到", [d["checkins"] for d in daily])
    return _svg(chart)


def points_chart(daily: list[dict], points_name: str) -> str:
    chart = pygal.Bar(**_options(f"{points_name}发放、消耗与过期(每日)"))
    _labels(chart, [d["day"] for d in daily])
    chart.add("发放", [d["issued"] for d in daily])
    chart.add("消耗", [d["spent"] for d in daily])
    chart.add("过期", [d["expired"] for d in daily])
    return _svg(chart)


def levels_chart(levels: list[dict]) -> str:
    chart = pygal.HorizontalBar(**{**_options("等级分布"), "height": 240})
    for level in levels:
        chart.add(level["name"], level["members"])
    return _svg(chart)


def funnel_chart(funnel: dict) -> str:
    chart = pygal.Funnel(**{**_options("邀请漏斗"), "height": 240})
    for key, label in (("scans", "扫码"), ("registrations", "注册"), ("qualified", "达标"), ("rewarded", "已奖励")):
        chart.add(label, funnel[key])
    return _svg(chart)


def best_sellers_chart(items: list[dict]) -> str:
    chart = pygal.HorizontalBar(**{**_options("热兑商品"), "height": 260})
    for item in items:
        chart.add(item["title"], int(item["quantity"]))
    return _svg(chart)


def campaigns_chart(campaigns: list[dict]) -> str:
    chart = pygal.Bar(**_options("活动效果:日均活跃会员(活动期 vs 此前四周)"))
    chart.x_labels = [f"{c['start'][5:]} {c['name'][:8]}" for c in campaigns]
    chart.add("活动期", [c["active_per_day"] for c in campaigns])
    chart.add("此前四周", [c["usual_active_per_day"] for c in campaigns])
    return _svg(chart)


def all_charts(figures: dict) -> dict[str, str]:
    return {
        "members": members_chart(figures["members"]["daily"]),
        "points": points_chart(figures["points"]["daily"], figures["points"]["books"]["points_name"]),
        "levels": levels_chart(figures["levels"]),
        "funnel": funnel_chart(figures["referrals"]["funnel"]),
        "best_sellers": best_sellers_chart(figures["mall"]["best_sellers"]),
        "campaigns": campaigns_chart(figures["campaigns"]),
    }
