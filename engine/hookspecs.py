"""Loom's hook specifications: the whole contract between the engine and its plugins.

One hook, one purpose. Every hook is documented here and in docs/plugins.md: what it
receives, what it returns and when it runs. A plugin is installed for the install
(entry-point group `loom.plugins`) and acts only for the tenants that enabled it; hooks
called without a tenant (field types, CLI commands, blueprints, metadata packages)
describe what a plugin offers, and the engine scopes their use per tenant.
"""
import pluggy

hookspec = pluggy.HookspecMarker("loom")
hookimpl = pluggy.HookimplMarker("loom")


@hookspec
def loom_metadata_packages():
    """Contribute metadata packages a tenant admin can apply.

    Returns a list of dicts `{"name": str, "label": {lang: text}, "document": {...}}`,
    where `document` is a metadata package (`{"entities": [...]}`). Called when the
    packages are listed or applied (`loom metadata apply TENANT --package NAME`); a
    package is offered only to tenants that enabled its plugin."""


@hookspec
def loom_record_before_write(event, session):
    """Check a record write inside its transaction, before it commits, and set values on it.

    Receives the `RecordEvent` (tenant, entity, action, record id, the record as it will
    be, the changed fields with old and new values, the actor), frozen: a hook cannot
    change it. `session` is the plugin session bound to the write's transaction: its
    `records` read in it and write in it (a ledger entry, a balance moved with
    `records.increment`), committing or rolling back with the record. Declare only the
    arguments you use. Returns None or the values it sets on the record being written
    (`{field: value}`, as JSON): the record service checks them as the system's input
    and applies them before the audit and outbox rows are written. Raise
    `LoomError` (or `ValidationFailed`, `Conflict`…) to refuse the write — the
    transaction is rolled back and the caller gets the error. Runs only for tenants that
    enabled the plugin."""


@hookspec
def loom_record_after_commit(event, session):
    """React to a record created, updated, deleted or transitioned, after its transaction
    committed.

    Receives the same frozen `RecordEvent` and a plugin session (outside any
    transaction). Returns nothing. An exception here is logged and never undoes or fails
    the write (the outbox row keeps the event for reliable asynchronous consumers). Runs
    only for tenants that enabled the plugin."""


@hookspec
def loom_records_before_write(events, session):
    """`loom_record_before_write` for every record of a write of several records at once (a
    batch create, an import's chunk, a change of owner of several records: one
    transaction), for Loom's core plugins only (entry-
    point group `loom.core`; pack plugins are asked record by record). Receives the list of
    frozen `RecordEvent`s and the engine's session. Used instead of the per-record hook
    only when every core plugin that implements that one implements this one too: it
    must check each event exactly as the per-record hook would. Returns nothing (a core
    plugin sets no values); raise `LoomError` to refuse the whole write. It must not read
    or write through the write's connection (it is given none): a batch create asks it while
    the database is still inserting the records (docs/plugins.md, "Batches")."""


@hookspec
def loom_records_after_commit(events, session):
    """`loom_record_after_commit` for every record of a batch create at once, after its
    transaction committed; for Loom's core plugins only, and used instead of the
    per-record hook only when every core plugin that implements that one implements this
    one too. Returns nothing; an exception is logged and never fails the write."""


@hookspec
def loom_field_types():
    """Add field types that metadata documents may use.

    Returns a list of `engine.fieldtypes.CustomFieldType(name, base, validate,
    description)`: stored and checked as the built-in `base` type, then passed to
    `validate(value)`, which returns the value (possibly normalised) or raises
    ValueError with a message for the user. Called once when the plugin manager is
    built; a type is usable only by tenants that enabled its plugin."""


@hookspec
def loom_cli_commands():
    """Add commands to the `loom` CLI.

    Returns a list of `click.Command` (or groups). Called once when the CLI starts; the
    commands are added under their own names and must name a tenant themselves if they
    act on one."""


@hookspec
def loom_blueprints():
    """Add Flask blueprints to the web app.

    Returns a list of `flask.Blueprint`. Called once by the app factory. A blueprint
    whose routes carry a `<tenant>` URL variable answers 404 for tenants that did not
    enable the plugin, exactly as for an unknown tenant."""


@hookspec
def loom_actions():
    """Add named actions that workflows and rules may run.

    Returns a dict `{name: engine.actions.ActionSpec}`: `run(context, params)` does the
    work (context: `session`, a plugin session; `entity`; `record`, the triggering
    record; `event`; `effect_key`, an idempotency key to pass to record writes) and returns a JSON-able outcome;
    `check(params)` returns a list of problems (plain-words strings) for the metadata
    validator. Called once when the action registry is built; an action is usable only
    by tenants that enabled its plugin."""


@hookspec
def loom_session_services():
    """Give the plugin session the services a layer above the engine owns.

    Returns a dict `{name: factory}`: `factory(session)` makes the service for one engine
    session. Loom's workflows offer `transitions`, `notifications` and `calendar`, which
    every plugin session shows under those names. Only Loom's core plugins are asked: an
    installed plugin's offer is not taken, so no pack can replace what the others rely
    on. Called each time a plugin session reaches one of the services."""


@hookspec
def loom_check_metadata(package, document, session):
    """Check the parts of a metadata document that a plugin runs (rule sets, templates…).

    Receives the loaded `metadata.Package` (entities and workflows already checked), the
    raw document and the plugin session of the tenant it is for. Returns a list of problems, each `{"field": JSON path, "code": str,
    "message": str}`; any problem refuses the document before anything is changed.
    Called on every `metadata apply` and validation, for the tenant's active plugins."""


@hookspec
def loom_packs():
    """Ship industry packs: metadata bundles a tenant installs as its base layer.

    Returns a list of `engine.packs.Pack` (manifest: name, version, label, description,
    depends; bundle: entities, layouts, workflows, rule sets, templates, extensions of
    the packs it depends on, demo data, upgrade steps). A pack's name is its plugin's
    name: installing the pack for a tenant enables the plugin, so its actions, field
    types and hooks act for that tenant only. Called when the pack catalogue is built
    (`loom pack list`, install, upgrade)."""


@hookspec
def loom_openapi_paths(package):
    """Describe a plugin's routes under `/api/v1/t/<tenant>/` in the tenant's OpenAPI document.

    Receives the tenant's `metadata.Package` (its entities and workflows). Returns a dict
    `{path: {method: operation}}`: paths relative to `/api/v1/t/<tenant>`, written as
    OpenAPI path templates (`/records/ticket/{id}/sla`), each operation an OpenAPI 3.0
    Operation Object with request and response schemas. Error responses refer to the
    document's shared ones, `{"$ref": "#/components/responses/E404"}` (400, 401, 403, 404,
    409, 412, 413 and 503, all of the one error shape). Called each time the document is
    built (`GET /openapi.json`), for the tenant's active plugins."""
