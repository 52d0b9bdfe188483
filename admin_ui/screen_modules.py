"""Every module that adds views to the screens' blueprint, imported once before it is
registered (add a new screen's module here)."""
from admin_ui import record_pages, related, shell, signin, timeline  # noqa: F401
