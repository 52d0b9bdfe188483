"""Business rules on durable-rules: tenants' rule sets (JSON metadata) evaluated per record event.

``RulesEngine.publish`` compiles a tenant's rule sets, ``evaluate`` returns the firings
of an event (validation refusals and automation actions, never run here), ``explain``
says why a rule did or did not fire, ``check_ruleset`` reports every problem of a rule
set with its JSON Pointer.  Correlated rules count matches in a CorrelationStore.
"""

from .checks import check_ruleset, schema
from .compiler import RulesetInvalid
from .correlation import CorrelationStore, InMemoryCorrelationStore, parse_window
from .engine import Firing, RulesEngine, RulesEngineError

__all__ = ["CorrelationStore", "Firing", "InMemoryCorrelationStore", "RulesEngine", "RulesEngineError",
           "RulesetInvalid", "check_ruleset", "parse_window", "schema"]
