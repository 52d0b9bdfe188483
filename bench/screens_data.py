"""The screens benchmark's data (bench/screens.py): realistic parties (Chinese names, many
of two characters like 王伟, English names, companies; phones typed every way people type
them; e-mails), the activities, opportunities and service requests of a share of them, and
what a person types into the search box. Built from a seeded random.Random: the same seed
gives the same data."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

PARTIES = 100_000

# -- realistic parties ------------------------------------------------------------------------
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
EN_FIRST = ("Anna", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Isla", "Jack",
            "Kate", "Liam", "Mia", "Noah", "Olivia", "Paul", "Ruby", "Sam", "Tom", "Zoe")
EN_LAST = ("Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Green",
           "Hall", "Wood", "Clarke", "Turner", "Hill", "Moore", "Cooper", "King", "Lee", "Ward", "Scott")
ORG_CN = ("华信", "东方", "金轮", "安信", "宏达", "新世纪", "长城", "恒通", "天成", "中联")
ORG_CN_KIND = ("科技有限公司", "百货集团", "贸易有限公司", "保险代理有限公司", "汽车服务有限公司")
ORG_EN = ("Greenleaf", "Bluewater", "Northstar", "Redwood", "Silverline", "Goldcrest", "Harbour")
ORG_EN_KIND = ("Trading Ltd", "Logistics", "Motors", "Insurance Brokers", "Retail Group")
CITIES = (("上海", "华东"), ("北京", "华北"), ("广州", "华南"), ("深圳", "华南"), ("杭州", "华东"),
          ("成都", "西南"), ("武汉", "华中"), ("青岛", "华东"), ("London", None), ("Singapore", None))
TIERS, TIER_WEIGHTS = ("regular", "silver", "gold", "diamond"), (60, 25, 12, 3)
SOURCES = ("web", "referral", "campaign", "call_centre")
# What a person types into the search box, one request per keystroke (prefixes of each).
TYPED = ("王伟", "张敏", "李娜", "Smith", "Emma W", "13800", "+86 139", "Greenleaf")


def mobile(rng: random.Random) -> str:
    digits = f"1{rng.choice('3589')}{rng.randrange(10)}{rng.randrange(10 ** 8):08d}"
    a, b, c = digits[:3], digits[3:7], digits[7:]
    return rng.choice((f"+86 {a} {b} {c}", digits, f"{a}-{b}-{c}", f"+86{digits}", f"{a} {b} {c}",
                       f"0086 ({a}) {b}-{c}"))


def party_item(rng: random.Random, number: int) -> dict:
    city, region = rng.choice(CITIES)
    kind, roll = "person", rng.random()
    if roll < 0.5:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.4 else "")
        email, locale = f"p{number}@example.cn", "zh-CN"
    elif roll < 0.85:
        first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        name, email, locale = f"{first} {last}", f"{first.lower()}.{last.lower()}{number}@example.com", "en"
    else:
        kind = "organisation"
        if rng.random() < 0.6:
            name, locale = rng.choice(ORG_CN) + rng.choice(ORG_CN_KIND), "zh-CN"
        else:
            name, locale = f"{rng.choice(ORG_EN)} {rng.choice(ORG_EN_KIND)}", "en"
        email = f"info{number}@company.example"
    item = {"kind": kind, "name": name, "email": email, "city": city, "region": region, "locale": locale,
            "roles": ["customer"] if rng.random() < 0.7 else ["prospect"], "source": rng.choice(SOURCES),
            "value_tier": rng.choices(TIERS, TIER_WEIGHTS)[0]}
    if kind == "person":
        item["mobile"] = mobile(rng)
    else:
        item["phone"] = f"+86 {rng.choice(('10', '21', '20', '755'))} {rng.randrange(1000, 9999)} " \
                        f"{rng.randrange(1000, 9999)}"
    if rng.random() < 0.6:
        item["lifetime_value"] = {"amount": f"{rng.lognormvariate(9, 1.2):.2f}", "currency": "CNY"}
    return {k: v for k, v in item.items() if v is not None}


def related_items(rng: random.Random, party_ids: list[int]) -> dict[str, list[dict]]:
    """Activities, opportunities and service requests of a share of the parties."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = {"activity": [], "opportunity": [], "service_request": []}
    for party in party_ids:
        if rng.random() < 0.30:
            for _ in range(rng.randint(1, 3)):
                due = start + timedelta(hours=rng.randrange(24 * 300))
                out["activity"].append({"type": rng.choice(("call", "visit", "email", "meeting")),
                                        "subject": rng.choice(("回访客户", "Follow-up call", "报价沟通",
                                                               "Product demo", "续约提醒")),
                                        "due_at": due.isoformat().replace("+00:00", "Z"),
                                        "done": rng.random() < 0.5, "party": party})
        if rng.random() < 0.10:
            for _ in range(rng.randint(1, 2)):
                out["opportunity"].append({"name": rng.choice(("空调改造", "Fleet renewal", "年度维保合同")),
                                           "party": party, "amount": {"amount": f"{rng.randrange(1000, 500000)}.00",
                                                                      "currency": "CNY"},
                                           "expected_close": (date(2026, 3, 1) + timedelta(days=rng.randrange(200)))
                                           .isoformat()})
        if rng.random() < 0.10:
            out["service_request"].append({"subject": rng.choice(("空调制冷效果差", "Invoice question", "安装预约")),
                                           "channel": rng.choice(("phone", "email", "web")),
                                           "request_type": rng.choice(("complaint", "repair", "inquiry")),
                                           "requester_phone": mobile(rng), "party": party})
    return out


def typed_prefixes() -> list[str]:
    return [word[:n] for word in TYPED for n in range(1, len(word) + 1)]
