"""Member segments: the RFM window and scores, and the demo programme's default tags.

Data, not code: operators add and change tags through the API; `flask seed-demo` adds these once.
A rule is `{"all": [condition, ...]}` (every condition must hold); see docs/segments.md.
"""

RFM_WINDOW_DAYS = 365  # purchases and activity older than this do not count
RFM_HIGH_SCORE = 3  # a score of 3 or more (of 1..5) is "high" when naming the segment

DEFAULT_TAGS = [
    {"code": "dormant_30", "name": "沉睡30天", "kind": "rule",
     "description": "近 30 天没有任何活动(消费、签到、任务、兑换)",
     "rule": {"all": [{"type": "dormant_days", "days": 30}]}},
    {"code": "high_value", "name": "高价值会员", "kind": "rule",
     "description": "可用积分不少于 5000",
     "rule": {"all": [{"type": "points_at_least", "points": 5000}]}},
    {"code": "rfm_important_value", "name": "重要价值客户", "kind": "rule",
     "description": "RFM:最近有消费、消费频繁、金额高",
     "rule": {"all": [{"type": "rfm_segment_in", "segments": ["important_value"]}]}},
    {"code": "rfm_win_back", "name": "重要挽留客户", "kind": "rule",
     "description": "RFM:金额高但很久没来、次数少,值得挽回",
     "rule": {"all": [{"type": "rfm_segment_in", "segments": ["important_retain"]}]}},
    {"code": "gold_and_above", "name": "金卡及以上", "kind": "rule",
     "description": "等级为金卡或钻石",
     "rule": {"all": [{"type": "level_in", "levels": ["gold", "diamond"]}]}},
    {"code": "b2b_manufacturing", "name": "B2B·制造业", "kind": "rule",
     "description": "资料中行业为制造业",
     "rule": {"all": [{"type": "attribute_equals", "field": "industry", "value": "制造业"}]}},
    {"code": "key_account", "name": "重点客户", "kind": "manual",
     "description": "运营手工标记的重点跟进客户"},
]
