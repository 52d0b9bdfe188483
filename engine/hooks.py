"""Calling the record hooks of the plugins one tenant enabled."""
from __future__ import annotations

import logging

log = logging.getLogger("loom.hooks")


class TenantHooks:
    def __init__(self, plugins, enabled, session=None):
        self.session = session
        self._before = plugins.hook("loom_record_before_write", enabled)
        self._after = plugins.hook("loom_record_after_commit", enabled)
        self.wants_record_events = bool(self._before.get_hookimpls() or self._after.get_hookimpls())

    def before_write(self, event, conn=None) -> None:
        if self.wants_record_events:
            self._before(event=event, session=self.session, conn=conn)

    def after_commit(self, event) -> None:
        if not self.wants_record_events:
            return
        try:
            self._after(event=event, session=self.session)
        except Exception:  # a plugin's failure after commit must not fail the write
            log.exception("loom_record_after_commit failed for %s %s", event.name, event.record_id)
