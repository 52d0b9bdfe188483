"""Every module that adds views to the screens' blueprint, imported once before it is
registered (add a new screen's module here, one per line)."""
from admin_ui import calendar  # noqa: F401
from admin_ui import imports  # noqa: F401
from admin_ui import kanban  # noqa: F401
from admin_ui import key_screens  # noqa: F401
from admin_ui import list_bulk  # noqa: F401
from admin_ui import list_views  # noqa: F401
from admin_ui import merge_screens  # noqa: F401
from admin_ui import lists  # noqa: F401
from admin_ui import mfa_screens  # noqa: F401
from admin_ui import my_tokens  # noqa: F401
from admin_ui import notifications  # noqa: F401
from admin_ui import personal_data  # noqa: F401
from admin_ui import record_pages  # noqa: F401
from admin_ui import related  # noqa: F401
from admin_ui import search  # noqa: F401
from admin_ui import shell  # noqa: F401
from admin_ui import signin  # noqa: F401
from admin_ui import timeline  # noqa: F401
from admin_ui.designer import condition_builder as designer_condition_builder  # noqa: F401
from admin_ui.designer import fields as designer_fields  # noqa: F401
from admin_ui.designer import forms as designer_forms, forms_conditions as designer_form_conditions  # noqa: F401
from admin_ui.designer import history as designer_history  # noqa: F401
from admin_ui.designer import audit, packs, people_screens  # noqa: F401  (people, packs, audit log)
from admin_ui.designer import people_access  # noqa: F401  (a user's roles, why, handing records over)
from admin_ui.designer import overview as designer_overview  # noqa: F401
from admin_ui.designer import preview as designer_preview  # noqa: F401
from admin_ui.designer import review as designer_review  # noqa: F401
from admin_ui.designer import workflow_editor, workflow_trial  # noqa: F401
from admin_ui.designer import rules as designer_rules  # noqa: F401
from admin_ui.designer import message_templates as designer_message_templates  # noqa: F401
from admin_ui.designer import field_editor as designer_field_editor, list_views as designer_list_views  # noqa: F401
from admin_ui.designer import entities as designer_entities  # noqa: F401
from admin_ui.designer import rights as designer_rights  # noqa: F401  (the rights matrix editor)
