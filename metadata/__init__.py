"""Loom metadata: the schema, model, validation and diffing of tenant entity definitions,
the workflows bound to them, and the condition language of guards and rules.

Pure Python (stdlib + jsonschema, imported lazily).  Typical use::

    package = metadata.load_package(document)          # raises MetadataInvalid
    changes = metadata.diff_packages(old_package, package)
    workflow = package.workflow_for("service_request")
    form = metadata.effective_layout(package, "contact_form")  # hidden fields left out
"""

from .conditions import check_condition, evaluate_condition, explain_condition
from .diff import Change, diff_packages
from .errors import MetadataInvalid, Problem
from .layouts import effective_layout, effective_layouts
from .model import BUILTIN_FIELD_TYPES, SYSTEM_COLUMNS, Entity, Field, Index, Option, Package
from .resources import example_path, load_example, load_schema, schema_path
from .validation import check_package, load_package
from .workflow import Approval, Sla, State, Transition, Workflow

__all__ = [
    "load_package", "check_package", "Package", "Entity", "Field", "Index", "Option", "Problem",
    "MetadataInvalid", "diff_packages", "Change", "BUILTIN_FIELD_TYPES", "SYSTEM_COLUMNS",
    "schema_path", "load_schema", "example_path", "load_example",
    "Workflow", "State", "Sla", "Transition", "Approval",
    "check_condition", "evaluate_condition", "explain_condition",
    "effective_layout", "effective_layouts",
]
