"""The retail_loyalty industry pack: membership cards (member, silver, gold, diamond —
会员卡/银卡/金卡/钻石卡), a points ledger whose balance never goes negative, rewards and
redemptions, tier rules on rolling 12-month figures, member clubs and free-trial sign-ups.

- `plugin.py`   the hooks: the pack, its actions, the ledger's record hooks
- `ledger.py`   the balance guarantee (one atomic conditional UPDATE per entry, in the
                write's transaction), immutable entries, redemptions and refunds
- `rolling.py`  rolling 12-month points and spend, points expiry (oldest first)
- `actions.py`  `loyalty_refresh`, `loyalty_expire_points`, `loyalty_convert_trial`
"""
