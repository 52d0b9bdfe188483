"""Every module that adds views to the screens' blueprint, imported once before it is
registered (add a new screen's module here)."""
from admin_ui import shell, signin  # noqa: F401
from admin_ui import calendar, kanban, search  # noqa: F401
