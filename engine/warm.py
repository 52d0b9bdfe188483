"""A server warmed before its first request, so that request costs what the next ones do
(issue 11: every designer page p95 ≤ 150 ms, the first after a start included).

`warm(app)` — called by `loom serve`, `loom demo` and the WSGI entry point, never by the
tests' apps — does, in this order:

1. compiles every template of the app's Jinja environment (the screens' ~90 templates:
   a first page otherwise compiles its template, its base and its includes, 100–200 ms);
2. opens each tenant (up to `MAX_TENANTS`, the first by slug): its current metadata
   compiled into the install's cache with its SQLAlchemy tables (a dry run starts from
   them), checked once (the checks keep each entity's, layout's and rule set's problems
   per its JSON text, so a later check redoes only what changed), its installed packs'
   canonical base (the document the tenant's overlay is derived against, which every
   designer save, review and pack preview needs: `engine.packs.layers.canonical_base`),
   and the publishing plan of each admin's open draft (kept per draft revision, so the
   first review after a start is not a dry run);
3. freezes what exists by then out of the garbage collector's full collections
   (`engine.heap.settle`): the modules, templates and compiled metadata live as long as the
   process, and a full collection scanning them stopped the request that triggered it
   for 60–190 ms, the slowest of every ten designer requests that build documents.

A tenant that cannot be opened (its database unreachable, its metadata broken) is skipped
and named in the result: warming never keeps a server from starting."""
from __future__ import annotations

import logging
import time

from jinja2 import TemplateError

from engine import auth
from engine.drafts import Drafts, store
from engine.errors import LoomError
from engine.heap import settle
from engine.packs.layers import canonical_base, load_layers

log = logging.getLogger("loom.warm")
MAX_TENANTS = 50
TEMPLATE_SUFFIXES = (".html", ".txt", ".xml", ".svg")


def warm(app, max_tenants: int = MAX_TENANTS) -> dict:
    """Warm `app` (see the module's text); returns what was done, for the log."""
    started = time.perf_counter()
    templates = warm_templates(app)
    install = app.extensions["loom"]
    opened, skipped = [], []
    for tenant in sorted(install.registry.list(), key=lambda t: t.slug)[:max_tenants]:
        (opened if warm_tenant(install, tenant.slug) else skipped).append(tenant.slug)
    settle()
    done = {"templates": templates, "tenants": opened, "skipped": skipped,
            "seconds": round(time.perf_counter() - started, 3)}
    log.info("warmed %(templates)s templates and %(count)s tenants in %(seconds)s s",
             {**done, "count": len(opened)})
    return done


def warm_templates(app) -> int:
    """Compile every template the app can render (kept by Jinja's cache); one that does not
    compile is left to fail where it is used, as without warming."""
    env = app.jinja_env
    count = 0
    for name in env.list_templates():
        if not name.endswith(TEMPLATE_SUFFIXES):
            continue
        try:
            env.get_template(name)
        except (TemplateError, UnicodeDecodeError):
            continue
        count += 1
    return count


def warm_tenant(install, slug: str) -> bool:
    """The tenant's current metadata compiled and its packs' canonical base built; False when
    the tenant could not be opened."""
    try:
        session = install.session(slug)
        compiled = session.metadata()
        compiled.tables  # noqa: B018 - compiled and kept
        if compiled.version:  # fills the checks' caches, kept per item: a save or dry run checks what changed
            session.check_document(compiled.memo(("published_document",), compiled.package.to_dict))
        canonical_base(load_layers(session), session.extra_types)
        _plan_drafts(install, session)
    except Exception as exc:  # noqa: BLE001 - Loom's refusal or either backend's error: skip the tenant
        log.warning("warming tenant %s: %s", slug, exc)
        return False
    return True


def _plan_drafts(install, session) -> None:
    """Each open draft's plan, made as its owner (kept per draft revision): a draft that
    cannot be published as it is (outdated, invalid, unchanged) has none to keep."""
    with session.storage.connect() as conn:
        owners = {row["open_owner"] for row in store.all_open(conn, session.storage.schema)}
    for actor in auth.list_users(session.storage):
        if actor.id in owners and actor.is_admin:
            try:
                Drafts(install.session(session.tenant.slug, actor)).plan()
            except LoomError:
                continue
