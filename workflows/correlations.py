"""The rules engine's CorrelationStore in each tenant's database (`loom_correlations`),
so correlated rules ("three complaints from one customer within 30 days") count the
same in every worker and survive restarts. The contract is in
`workflows/rules/correlation.py`."""
from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.systables import loom_table


class DatabaseCorrelationStore:
    def __init__(self, install):
        self.install = install

    def storage_of(self, tenant):
        return self.install.registry.storage_of(tenant)

    def record_match(self, tenant, ruleset, rule, key, event_id, at, within) -> int:
        storage = self.storage_of(tenant)
        table = loom_table(storage.schema, "loom_correlations")
        key_text = json.dumps(key, sort_keys=True)[:200]
        mine = (table.c.ruleset == ruleset, table.c.rule == rule)
        try:
            with storage.begin() as conn:
                known = conn.execute(select(table.c.at).where(*mine, table.c.event_id == int(event_id))).scalar()
                if known is None:
                    conn.execute(table.insert().values(ruleset=ruleset, rule=rule, key=key_text,
                                                       event_id=int(event_id), at=at))
                else:
                    at = known if known.tzinfo else known.replace(tzinfo=at.tzinfo)
        except IntegrityError:  # another worker recorded this event first: count as of it
            pass
        with storage.connect() as conn:
            return conn.execute(select(func.count()).where(
                *mine, table.c.key == key_text, table.c.at > at - within, table.c.at <= at)).scalar_one()
