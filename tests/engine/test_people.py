"""People, API tokens and the audit log, in the engine and over REST, on SQLite and
PostgreSQL: an invited user chooses a password through the link; a deactivated user can
neither sign in nor use a token (and comes back when reactivated); the tenant keeps an
active admin; a revoked token is refused at once; a token's last use is kept; the audit
log filters by user, entity, record and time and pages by keyset without gaps or repeats."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from engine import auth, passwords, people
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.records.audit_log import AuditQuery, audit_page
from engine.systables import loom_table

ADMIN, OTHER_ADMIN, MEMBER = "ann@acme.example", "ben@acme.example", "mo@acme.example"


@pytest.fixture
def tenant(acme):
    """`acme` with two admins and a member; {email: token}."""
    storage = acme.storage
    found = {}
    for email, role in ((ADMIN, "admin"), (OTHER_ADMIN, "admin"), (MEMBER, "member")):
        auth.create_user(storage, email, role)
        found[email] = auth.create_token(storage, email, f"{email} script")
    return found


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def user_id(storage, email):
    return next(a.id for a in auth.list_users(storage) if a.email == email)


def snapshot(storage):
    users = loom_table(storage.schema, "loom_users")
    tokens = loom_table(storage.schema, "loom_tokens")
    with storage.connect() as conn:
        return (conn.execute(select(users.c.email, users.c.role, users.c.active, users.c.manager_id)
                             .order_by(users.c.id)).all(),
                conn.execute(select(tokens.c.id, tokens.c.revoked_at).order_by(tokens.c.id)).all())


def test_an_invited_user_chooses_a_password_through_the_link_and_signs_in(acme, tenant):
    storage = acme.storage
    invited, secret = people.invite(storage, " Zoe@Acme.example ", "member", "Zoe", manager=ADMIN)
    assert (invited.email, invited.display_name, invited.manager, invited.has_password) == \
        ("zoe@acme.example", "Zoe", ADMIN, False)
    assert passwords.sign_in(storage, "zoe@acme.example", "anything-at-all").actor is None
    assert passwords.reset_user(storage, secret) == "zoe@acme.example"
    assert passwords.finish_reset(storage, secret, "zoe-chose-this")
    assert passwords.sign_in(storage, "zoe@acme.example", "zoe-chose-this").actor.email == "zoe@acme.example"
    assert not passwords.finish_reset(storage, secret, "a-second-time")      # the link works once
    with pytest.raises(Conflict):
        people.invite(storage, "zoe@acme.example")


def test_a_deactivated_user_cannot_sign_in_or_use_a_token_until_reactivated(acme, tenant, client):
    storage = acme.storage
    passwords.set_password(storage, MEMBER, "member-password")
    mo = user_id(storage, MEMBER)
    assert client.get("/api/v1/t/acme/records/contact", headers=bearer(tenant[MEMBER])).status_code == 200
    changed = client.patch(f"/api/v1/t/acme/users/{mo}", json={"active": False}, headers=bearer(tenant[ADMIN]))
    assert changed.status_code == 200 and changed.json["active"] is False
    assert client.get("/api/v1/t/acme/records/contact", headers=bearer(tenant[MEMBER])).status_code == 401
    assert passwords.sign_in(storage, MEMBER, "member-password").actor is None
    assert passwords.session_user(storage, mo, datetime.now(timezone.utc)) is None
    people.change(storage, mo, active=True)
    assert client.get("/api/v1/t/acme/records/contact", headers=bearer(tenant[MEMBER])).status_code == 200
    assert passwords.sign_in(storage, MEMBER, "member-password").actor is not None


def test_the_tenant_keeps_an_active_admin_and_nobody_deactivates_themselves(acme, tenant, client):
    storage = acme.storage
    ann, ben = user_id(storage, ADMIN), user_id(storage, OTHER_ADMIN)
    refused = client.patch(f"/api/v1/t/acme/users/{ann}", json={"active": False}, headers=bearer(tenant[ADMIN]))
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "self_deactivation")
    people.change(storage, ben, role="member")              # ann is still an admin: allowed
    before = snapshot(storage)
    for change in ({"active": False}, {"role": "member"}):
        with pytest.raises(Conflict, match="last active admin"):
            people.change(storage, ann, **change)
    assert snapshot(storage) == before
    people.change(storage, ben, role="admin")
    assert people.change(storage, ann, role="member").role == "member"   # another admin now exists


def test_bad_changes_are_refused_with_their_field_and_change_nothing(acme, tenant, client):
    storage = acme.storage
    mo, ann = user_id(storage, MEMBER), user_id(storage, ADMIN)
    people.change(storage, mo, manager=ADMIN)
    before = snapshot(storage)
    cases = [(mo, {"role": "boss"}, 400), (mo, {"active": "no"}, 400), (mo, {"manager": "ghost@acme.example"}, 404),
             (ann, {"manager": MEMBER}, 400), (mo, {"colour": "red"}, 400), (mo, {"display_name": 7}, 400),
             (mo, {"manager": "a\x00b@acme.example"}, 400), (mo, {"display_name": "Mo\x00"}, 400),
             (mo, {"display_name": "Mo\ud800"}, 400),
             (999999, {"role": "member"}, 404)]
    for target, body, status in cases:
        answer = client.patch(f"/api/v1/t/acme/users/{target}", json=body, headers=bearer(tenant[ADMIN]))
        assert answer.status_code == status, (body, answer.json)
        assert answer.json["error"]["message"]
    assert snapshot(storage) == before


def test_members_may_not_manage_people_or_read_the_audit(acme, tenant, client):
    for method, path in (("get", "users"), ("post", "users"), ("get", "audit"), ("post", "users/1/password-reset")):
        answer = getattr(client, method)(f"/api/v1/t/acme/{path}", json={"email": "x@acme.example"}
                                         if method == "post" else None, headers=bearer(tenant[MEMBER]))
        assert (answer.status_code, answer.json["error"]["code"]) == (403, "admin_only"), path


def test_a_token_is_shown_once_named_used_and_refused_at_once_when_revoked(acme, tenant, client):
    created = client.post("/api/v1/t/acme/tokens", json={"user": MEMBER, "label": "  nightly export "},
                          headers=bearer(tenant[ADMIN]))
    assert created.status_code == 201 and created.json["token"].startswith("loom_")
    assert (created.json["label"], created.json["user"], created.json["last_used_at"]) == \
        ("nightly export", MEMBER, None)
    secret, token_id = created.json["token"], created.json["id"]
    assert client.get("/api/v1/t/acme/records/contact", headers=bearer(secret)).status_code == 200
    listed = client.get("/api/v1/t/acme/tokens", headers=bearer(tenant[ADMIN])).json["items"]
    mine = next(t for t in listed if t["id"] == token_id)
    assert mine["last_used_at"] is not None and "token" not in mine and secret not in str(listed)
    revoked = client.delete(f"/api/v1/t/acme/tokens/{token_id}", headers=bearer(tenant[ADMIN]))
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert client.get("/api/v1/t/acme/records/contact", headers=bearer(secret)).status_code == 401
    again = client.delete(f"/api/v1/t/acme/tokens/{token_id}", headers=bearer(tenant[ADMIN]))
    assert (again.status_code, again.json["error"]["code"]) == (409, "token_revoked")
    assert client.delete("/api/v1/t/acme/tokens/999999", headers=bearer(tenant[ADMIN])).status_code == 404
    for body in ({"user": MEMBER}, {"user": MEMBER, "label": "  "}, {"user": "ghost@acme.example", "label": "x"},
                 {"user": MEMBER, "label": "x" * 201}, {"user": MEMBER, "label": "nul\x00"},
                 {"user": MEMBER, "label": "a\ud800b"}, {"user": "mo\x00@acme.example", "label": "x"}):
        assert client.post("/api/v1/t/acme/tokens", json=body, headers=bearer(tenant[ADMIN])).status_code in (400, 404)
    assert len(people.tokens(acme.storage)) == 4


def test_a_tokens_last_use_is_written_once_a_minute_not_on_every_request(acme, tenant):
    storage = acme.storage
    auth.authenticate(storage, tenant[MEMBER])
    first = next(t for t in people.tokens(storage) if t["user"] == MEMBER)["last_used_at"]
    auth.authenticate(storage, tenant[MEMBER])
    assert next(t for t in people.tokens(storage) if t["user"] == MEMBER)["last_used_at"] == first
    tokens = loom_table(storage.schema, "loom_tokens")
    with storage.begin() as conn:
        conn.execute(tokens.update().values(last_used_at=datetime.now(timezone.utc) - timedelta(minutes=5)))
    auth.authenticate(storage, tenant[MEMBER])
    later = next(t for t in people.tokens(storage) if t["user"] == MEMBER)["last_used_at"]
    assert later.replace(tzinfo=None) > first.replace(tzinfo=None) - timedelta(seconds=1)


def test_invitation_and_reset_links_over_rest(acme, tenant, client):
    invited = client.post("/api/v1/t/acme/users", json={"email": "zoe@acme.example", "role": "admin",
                                                        "display_name": "Zoe"}, headers=bearer(tenant[ADMIN]))
    assert invited.status_code == 201 and invited.json["user"]["role"] == "admin"
    secret = invited.json["set_password"].rsplit("/", 1)[1]
    assert invited.json["set_password"] == f"/t/acme/password-reset/{secret}"
    assert passwords.reset_user(acme.storage, secret) == "zoe@acme.example"
    listed = client.get("/api/v1/t/acme/users", headers=bearer(tenant[ADMIN])).json
    assert listed["roles"] == list(auth.ROLES) and "zoe@acme.example" in [u["email"] for u in listed["items"]]
    mo = user_id(acme.storage, MEMBER)
    reset = client.post(f"/api/v1/t/acme/users/{mo}/password-reset", headers=bearer(tenant[ADMIN]))
    assert reset.status_code == 200
    assert passwords.reset_user(acme.storage, reset.json["set_password"].rsplit("/", 1)[1]) == MEMBER
    for body in ({"email": "not-an-address"}, {"email": "x@acme.example", "role": "boss"}, {},
                 {"email": "x@acme.example", "nickname": "x"}, {"email": "x@acme.example", "display_name": "X\x00"},
                 {"email": "x@acme.example", "manager": "\x00"}):
        answer = client.post("/api/v1/t/acme/users", json=body, headers=bearer(tenant[ADMIN]))
        assert answer.status_code == 400, body
    assert "x@acme.example" not in [u.email for u in auth.list_users(acme.storage)]


# -- the audit log --------------------------------------------------------------------
@pytest.fixture
def history(acme, tenant, install):
    """Twelve audited writes by two users over two entities."""
    storage = acme.storage
    sessions = {email: install.session("acme", next(a for a in auth.list_users(storage) if a.email == email))
                for email in (ADMIN, MEMBER)}
    ids = []
    for n in range(5):
        for email, session in sessions.items():
            ids.append(session.records.create("contact", {"full_name": f"{email[:3]} {n}"})["id"])
    first = sessions[ADMIN].records.get("contact", ids[0])
    sessions[ADMIN].records.update("contact", ids[0], {"full_name": "Renamed"}, expected_version=first["version"])
    sessions[ADMIN].records.delete("contact", ids[1])
    return ids


def read_all(storage, **filters):
    query, rows = AuditQuery(**filters), []
    while True:
        page = audit_page(storage, query)
        rows += page["items"]
        if page["next"] is None:
            return rows
        query = AuditQuery(**{**filters, "before": page["next"]})


def test_the_audit_log_filters_by_user_entity_record_and_time(acme, history):
    storage = acme.storage
    everything = audit_page(storage, AuditQuery(limit=200))["items"]
    assert len(everything) == 12 and [r["id"] for r in everything] == sorted((r["id"] for r in everything), reverse=True)
    ann = user_id(storage, ADMIN)
    by_ann = audit_page(storage, AuditQuery(user_id=ann, limit=200))["items"]
    assert len(by_ann) == 7 and {r["actor_id"] for r in by_ann} == {ann}
    one = audit_page(storage, AuditQuery(entity="contact", record_id=history[0]))["items"]
    assert [r["action"] for r in one] == ["update", "create"]
    assert one[0]["changes"]["full_name"] == ["ann 0", "Renamed"]
    assert audit_page(storage, AuditQuery(entity="account"))["items"] == []
    now = datetime.now(timezone.utc)
    assert len(audit_page(storage, AuditQuery(since=now - timedelta(hours=1), limit=200))["items"]) == 12
    assert audit_page(storage, AuditQuery(until=now - timedelta(hours=1)))["items"] == []
    assert audit_page(storage, AuditQuery(since=now + timedelta(hours=1)))["items"] == []


@pytest.mark.parametrize("limit", [1, 5, 12, 50])
def test_the_audit_log_pages_by_keyset_without_gaps_or_repeats(acme, history, limit):
    storage = acme.storage
    whole = audit_page(storage, AuditQuery(limit=200))["items"]
    paged = read_all(acme.storage, limit=limit)
    assert [r["id"] for r in paged] == [r["id"] for r in whole]
    ann = user_id(storage, ADMIN)
    assert [r["id"] for r in read_all(storage, user_id=ann, limit=limit)] == \
        [r["id"] for r in whole if r["actor_id"] == ann]


def test_the_audit_log_over_rest_with_its_filters_and_cursor(acme, tenant, history, client):
    ann = user_id(acme.storage, ADMIN)
    first = client.get(f"/api/v1/t/acme/audit?user={ann}&limit=4", headers=bearer(tenant[ADMIN]))
    assert first.status_code == 200 and len(first.json["items"]) == 4 and first.json["next"]
    second = client.get(f"/api/v1/t/acme/audit?user={ann}&limit=4&before={first.json['next']}",
                        headers=bearer(tenant[ADMIN])).json
    assert len(second["items"]) == 3 and second["next"] is None
    today = datetime.now(timezone.utc).date().isoformat()
    assert len(client.get(f"/api/v1/t/acme/audit?since={today}&until={today}&limit=200",
                          headers=bearer(tenant[ADMIN])).json["items"]) == 12
    bad = client.get("/api/v1/t/acme/audit?record=x&since=yesterday&limit=0&entity=Con%00tact",
                     headers=bearer(tenant[ADMIN]))
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json["error"]["details"]} == {"record", "since", "limit", "entity"}
    assert client.get("/api/v1/t/acme/audit?colour=red", headers=bearer(tenant[ADMIN])).status_code == 400


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["user", "entity", "record", "since", "until", "before", "limit"]),
                       st.text(max_size=40) | st.sampled_from(["2026-01-31", "2026-01-31T09:30+08:00", "0001-01-01T00:00+01:00", "12", "0", "²", "٣"])))
def test_any_audit_filter_text_is_read_or_refused_with_its_fields(args):
    try:
        query = AuditQuery.parse(args)
    except ValidationFailed as exc:
        assert exc.details and {d["field"] for d in exc.details} <= set(args)
    else:
        assert query.limit >= 1 and (query.since is None or query.since.tzinfo is not None)


def test_ids_beyond_any_row_are_not_found_not_a_server_error(acme, tenant, client):
    huge = 2 ** 70
    for method, path, body in (("PATCH", f"/api/v1/t/acme/users/{huge}", {"role": "member"}),
                               ("POST", f"/api/v1/t/acme/users/{huge}/password-reset", None),
                               ("DELETE", f"/api/v1/t/acme/tokens/{huge}", None)):
        answer = client.open(path, method=method, json=body, headers=bearer(tenant[ADMIN]))
        assert answer.status_code == 404, (path, answer.status_code)
    with pytest.raises(NotFound):
        people.person(acme.storage, huge)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(acme, tenant):
    """Each change checks the last admin and writes in one transaction, the admins' rows
    held: of two concurrent demotions of the tenant's only two admins, one is refused."""
    import threading

    storage = acme.storage
    ann, ben = user_id(storage, ADMIN), user_id(storage, OTHER_ADMIN)
    outcomes, start = [], threading.Barrier(2)

    def demote(target):
        start.wait()
        try:
            people.change(storage, target, role="member")
            outcomes.append("done")
        except Conflict as exc:
            outcomes.append(exc.code)

    workers = [threading.Thread(target=demote, args=(who,)) for who in (ann, ben)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes) == ["done", "last_admin"]
    assert [p.role for p in people.people(storage) if p.email in (ADMIN, OTHER_ADMIN)].count("admin") == 1
