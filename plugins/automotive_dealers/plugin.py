"""The automotive_dealers pack as a Loom plugin: a car maker with dealers and a call
centre (DOMAIN.md §4, §7). Installing the pack for a tenant enables this plugin there,
so the `vin` field type, the actions and the record checks act for that tenant only."""
from pathlib import Path

from engine.plugin_api import CustomFieldType, Pack, hookimpl
from plugins.automotive_dealers.actions import ACTIONS
from plugins.automotive_dealers.checks import check_write
from plugins.automotive_dealers.vin import check_vin

LOOM_PLUGIN_NAME = "automotive_dealers"
PACK = Pack.from_directory(Path(__file__).parent)


@hookimpl
def loom_packs():
    return [PACK]


@hookimpl
def loom_field_types():
    return [CustomFieldType("vin", "string", check_vin,
                            "Vehicle identification number (ISO 3779, 17 characters, check digit in position 9)")]


@hookimpl
def loom_actions():
    return dict(ACTIONS)


@hookimpl
def loom_record_before_write(event, session):
    check_write(event, session)
