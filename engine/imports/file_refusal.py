"""An import file refused: what is wrong with it, for the one who sent it."""
from __future__ import annotations

from engine.errors import ValidationFailed


def refuse(message: str, field: str = "file"):
    return ValidationFailed(message, code="bad_import_file", details=[{"field": field, "message": message}])

