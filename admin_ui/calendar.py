"""The calendar: an entity's records on the days of one of its date or datetime fields, a
month (`month=YYYY-MM`) or an ISO week (`week=YYYY-Www`) at a time, filtered as in its
list. A datetime is placed on its day in the tenant's time zone, the zone the screens show
times in (the engine stores UTC: a day's bounds are converted for the query)."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from flask import abort, g, render_template, request
from flask_babel import format_date, to_user_timezone, to_utc
from flask_babel import gettext as _

from admin_ui.board_common import cards, entity_or_404, filters_of, key_fields, query_string
from admin_ui.list_filters import engine_filters
from admin_ui.list_state import list_layout
from admin_ui.view import screen_view
from admin_ui.web import screens

OWN = ("field", "month", "week", "sort")  # a calendar is in date order
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
MOST = 200  # events shown in one month or week; the page says when there are more
DATE_TYPES = ("date", "datetime")


def _date_field(entity: dict, name: str | None) -> dict:
    dated = [f for f in entity["fields"] if f["base_type"] in DATE_TYPES]
    if not dated:
        abort(400, description=_("%(entity)s has no date field to show on a calendar.", entity=entity["label"]))
    if name is None:
        chosen = (list_layout(screen_view(), entity) or {}).get("calendar_field")
        return next((f for f in dated if f["name"] == chosen), dated[0])
    found = next((f for f in dated if f["name"] == name), None)
    if found is None:
        abort(400, description=_("%(field)s is not a date field of %(entity)s.", field=name, entity=entity["label"]))
    return found


def _period(args) -> tuple[str, date, date, date]:
    """(kind, first day shown, day after the last, the period's first day) of the
    `month` or `week` asked for (default: this month); a 400 page for a malformed one."""
    today = _today()
    try:
        if args.get("week"):
            found = WEEK.match(args["week"])
            if not found:
                raise ValueError
            start = date.fromisocalendar(_year(found[1]), int(found[2]), 1)
            return "week", start, start + timedelta(days=7), start
        month = args.get("month") or today.strftime("%Y-%m")
        found = MONTH.match(month)
        if not found:
            raise ValueError
        first = date(_year(found[1]), int(found[2]), 1)
    except ValueError:
        abort(400, description=_("Give the month as YYYY-MM (2026-03) or the week as YYYY-Www (2026-W10)."))
    following = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = following + timedelta(days=(7 - following.weekday()) % 7)
    return "month", start, end, first


def _year(text: str) -> int:
    """A year a calendar can show: its days and their neighbours, in any time zone, are
    within the years 1 to 9999."""
    year = int(text)
    if not 2 <= year <= 9998:
        raise ValueError(text)
    return year


def _day_of(value) -> date | None:
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    return to_user_timezone(datetime.fromisoformat(text.replace("Z", "+00:00"))).date()


def _bound(field, day: date) -> str:
    """The start of `day` as the query wants it: the date, or the UTC time the day starts
    in the tenant's zone."""
    if field["base_type"] == "date":
        return day.isoformat()
    return to_utc(datetime.combine(day, time())).isoformat(timespec="seconds") + "Z"


def _today() -> date:
    return to_user_timezone(datetime.now().astimezone()).date()


def _neighbours(kind, first) -> tuple[dict, dict]:
    if kind == "week":
        before, after = first - timedelta(days=7), first + timedelta(days=7)
        return ({"week": "%d-W%02d" % before.isocalendar()[:2]}, {"week": "%d-W%02d" % after.isocalendar()[:2]})
    before = (first - timedelta(days=1)).replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return {"month": before.strftime("%Y-%m")}, {"month": after.strftime("%Y-%m")}


@screens.get("/e/<entity>/calendar")
def entity_calendar(entity):
    view = entity_or_404(entity)
    field = _date_field(view, request.args.get("field"))
    kind, start, end, first = _period(request.args)
    filters = filters_of(request.args, OWN)
    name = field["name"]
    page = g.session.records.list(entity, engine_filters(view, filters) + [(f"{name}__gte", _bound(field, start)),
                                                     (f"{name}__lt", _bound(field, end)),
                                                     ("sort", name), ("limit", str(MOST))])
    events: dict = {}
    for card in cards(view, page["items"], key_fields(view, leave_out=(name,))[:1]):
        events.setdefault(_day_of(card["record"][name]), []).append(card)
    days = [start + timedelta(days=n) for n in range((end - start).days)]
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    before, after = _neighbours(kind, first)
    period = (format_date(first, "LLLL y") if kind == "month"
              else _("Week of %(day)s", day=format_date(first, "medium")))
    link = lambda move: "?" + query_string(filters, field=name, **move)  # noqa: E731
    return render_template(
        "screens/calendar.html", title=_("%(entity)s calendar", entity=view["plural_label"] or view["label"]),
        nav_entity=entity, entity=view, field=field, kind=kind, weeks=weeks, events=events, first=first,
        period=period, previous=link(before), next=link(after), more=page["next_cursor"] is not None,
        today=_today(), dated=[f for f in view["fields"] if f["base_type"] in DATE_TYPES],
        filters=filters, weekdays=[format_date(days[0] + timedelta(days=n), "EEEE") for n in range(7)],
        most=MOST, this_month=link({"month": _today().strftime("%Y-%m")}))
