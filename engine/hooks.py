"""Calling the record hooks of the plugins one tenant enabled.

Loom's core plugins receive the engine's `TenantSession`; pack plugins receive a
`PluginSession` (bound, before a write, to its transaction) and the event frozen. A
before-write hook returns the values it sets ({field: value}) or None."""
from __future__ import annotations

import logging
from functools import cached_property

from engine.errors import LoomError, PluginFailed
from engine.plugin_session import PluginSession
from engine.privacy.error_text import carried_values, safe_trace

log = logging.getLogger("loom.hooks")


class TenantHooks:
    def __init__(self, plugins, enabled, session=None):
        self.session = session
        self._core_before = plugins.core_hook("loom_record_before_write")
        self._core_after = plugins.core_hook("loom_record_after_commit")
        self._before = plugins.pack_hook("loom_record_before_write", enabled)
        self._after = plugins.pack_hook("loom_record_after_commit", enabled)
        self._plugins = plugins
        self.wants_record_events = any(caller.get_hookimpls() for caller in (
            self._core_before, self._core_after, self._before, self._after))

    @cached_property
    def _core_before_all(self):  # looked up on a write of several records only
        return _batched(self._plugins, "loom_records_before_write", self._core_before)

    @cached_property
    def _core_after_all(self):
        return _batched(self._plugins, "loom_records_after_commit", self._core_after)

    def before_write_core(self, events) -> None:
        """Loom's own plugins' checks of every event of a write before it commits: once for
        the whole write of several records when each of them takes the list
        (`loom_records_before_write`); a single record's event as before."""
        if not self.wants_record_events or not self._core_before.get_hookimpls():
            return
        if len(events) > 1 and self._core_before_all is not None:
            self._core_before_all(events=events, session=self.session)
            return
        for event in events:
            self._core_before(event=event, session=self.session)

    @property
    def packs_before_write(self) -> bool:
        """Whether a pack plugin enabled for the tenant checks writes before they commit."""
        return self.wants_record_events and bool(self._before.get_hookimpls())

    def before_write_packs(self, event, service=None, conn=None) -> dict:
        """The pack plugins' before-write hooks of one event; the values they set, merged."""
        if not self.packs_before_write:
            return {}
        try:
            results = self._before(event=event, session=PluginSession(self.session, service, conn))
        except LoomError:
            raise
        except Exception as exc:
            self._log_failure(f"loom_record_before_write failed for {event.name} {event.record_id}", [event], exc)
            raise PluginFailed(f"a plugin failed while checking this {event.entity} write "
                               f"({type(exc).__name__}: {exc}); nothing was written") from None
        values: dict = {}
        for result in reversed(results):  # pluggy answers last registered first
            if result is not None and not isinstance(result, dict):
                raise PluginFailed(f"a loom_record_before_write hook returned {type(result).__name__}, "
                                   f"not a dict of the values it sets; nothing was written")
            values.update(result or {})
        return values

    def after_commit(self, event) -> None:
        if not self.wants_record_events:
            return
        if self._core_after.get_hookimpls():
            self._after_commit(self._core_after, event, self.session)
        if self._after.get_hookimpls():  # no plugin session built for no pack hook
            self._after_commit(self._after, event, PluginSession(self.session))

    def after_commit_all(self, events) -> None:
        """`after_commit` of every event of a write: Loom's own plugins asked once for the
        list when each of them takes it (`loom_records_after_commit`)."""
        if not self.wants_record_events or not events:
            return
        if self._core_after_all is None:
            for event in events:
                self.after_commit(event)
            return
        try:
            self._core_after_all(events=events, session=self.session)
        except Exception as exc:  # as for one event: never fails the write
            self._log_failure(f"loom_records_after_commit failed for {len(events)} {events[0].entity} events",
                              events, exc)
        if self._after.get_hookimpls():
            for event in events:
                self._after_commit(self._after, event, PluginSession(self.session))

    def _after_commit(self, caller, event, session) -> None:
        try:
            caller(event=event, session=session)
        except Exception as exc:  # a plugin's failure after commit must not fail the write
            self._log_failure(f"loom_record_after_commit failed for {event.name} {event.record_id}", [event], exc)

    def _log_failure(self, what: str, events, exc) -> None:
        """A plugin's failure (`what` failed), logged with its traceback made safe: without
        the personal values of the events' records (`engine.privacy.error_text`)."""
        metadata = self.session.metadata() if self.session is not None else None
        values = set().union(*(carried_values(metadata.entity(e.entity) if metadata else None, e.as_dict())
                               for e in events))
        log.error("%s\n%s", what, safe_trace(exc, values))


def _batched(plugins, name, per_record):
    """The core hook caller of `name` (a hook taking a write's events at once) when every
    core plugin implementing `per_record` implements it too (None otherwise: the per-record
    hook is called for each event), and some core plugin does."""
    caller = plugins.core_hook(name)
    batched = {impl.plugin for impl in caller.get_hookimpls()}
    one = {impl.plugin for impl in per_record.get_hookimpls()}
    return caller if one and one <= batched else None
