"""Checks of match keys: a field's `match`, `region` and `strict`, and the package's
`settings` (its `phone_region`). A phone or e-mail field keeps a key of its own kind; a
string or text field keeps one when it says which (`"match": "name"`, `"id"`, ...)."""
from __future__ import annotations

from .errors import Problem
from .fieldtypes import show

OWN_KIND = {"phone": "phone", "email": "email"}
# The countries the phonenumbers library reads numbers of (a test holds the two equal).
PHONE_REGIONS = frozenset("""
AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ
GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH
PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR
SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC
VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
""".split())


def region_problem(region) -> str | None:
    """Why `region` is not a country phone numbers can be read in (None: it is one)."""
    if isinstance(region, str) and region.upper() not in PHONE_REGIONS:
        return (f"{show(region)} is not a country code phone numbers can be read in; "
                "use an ISO 3166 code such as 'CN', 'US' or 'GB'")
    return None


def match_problems(spec: dict, path: str, base: str, type_name: str) -> list[Problem]:
    """A field's match options (only those of the right JSON type; the schema reports the rest)."""
    problems = []
    match = spec.get("match")
    own = OWN_KIND.get(base)
    if isinstance(match, str) and own and match != own:
        problems.append(Problem(path + "/match", "match_kind",
                                f"a {type_name} field's match key is {show(own)}, not {show(match)}"))
    kind = match if isinstance(match, str) else own
    if "region" in spec and kind != "phone":
        problems.append(Problem(path + "/region", "region_without_phone",
                                "'region' applies only to a field matched as a phone number"))
    elif region_problem(spec.get("region")):
        problems.append(Problem(path + "/region", "unknown_region", region_problem(spec["region"])))
    if spec.get("strict") is True and kind != "phone":
        problems.append(Problem(path + "/strict", "strict_without_phone",
                                "'strict' applies only to a field matched as a phone number"))
    return problems


def settings_problems(settings) -> list[Problem]:
    """The package's settings (their shape is the schema's)."""
    if not isinstance(settings, dict):
        return []
    message = region_problem(settings.get("phone_region"))
    return [Problem("/settings/phone_region", "unknown_region", message)] if message else []
