"""Problems found in a metadata document, in one shape for the CLI, the API and the UI.

A Problem points at the offending spot with a JSON Pointer into the document the
tenant admin submitted, so every client can highlight the exact input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submitted document or request: the one problem type of the
    validator, the API's error details and the CLI.

    ``path`` is where: a JSON Pointer into a submitted document ("" is the root), or the
    field name of a record; ``code`` a short machine code (e.g. ``unknown_type``),
    ``message`` plain words naming the offending value, ``details`` any further facts
    (e.g. a count), read-only.
    """

    path: str
    code: str
    message: str
    details: Mapping = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def __reduce__(self):  # a read-only mapping does not pickle; its contents do
        return (Problem, (self.path, self.code, self.message, dict(self.details)))

    def to_dict(self) -> dict:
        # "field" because the HTTP error format reports details[].field.
        return {**self.details, "field": self.path, "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping, code: str = "invalid") -> "Problem":
        """The inverse of `to_dict`; `code` when the entry names none."""
        rest = {k: v for k, v in data.items() if k not in ("field", "code", "message") and v is not None}
        return cls(str(data.get("field") or ""), str(data.get("code") or code), str(data.get("message", "")), rest)

    def line(self) -> str:
        """The problem on one line, as the CLI prints it."""
        return f"{self.path or '/'}: {self.message} [{self.code}]"

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class MetadataInvalid(Exception):
    """Raised by ``load_package`` with every problem found, never just the first."""

    def __init__(self, problems):
        self.problems: list[Problem] = list(problems)
        # args carry the problems so the exception pickles and re-raises intact.
        super().__init__(self.problems)

    def _summary(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head] + [f"  {p}" for p in self.problems])

    def __str__(self) -> str:
        return self._summary()

    def to_dict(self) -> list[dict]:
        """The problems as ``details`` entries of the HTTP error format."""
        return [p.to_dict() for p in self.problems]


def pointer(*parts) -> str:
    """Build a JSON Pointer (RFC 6901) from path segments."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def split_pointer(path: str) -> list[str]:
    """Inverse of :func:`pointer` (segments as strings)."""
    if not path:
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/")]


def sort_key(problem: Problem):
    """Order problems by document position (array indexes numerically), then code."""
    key = []
    for seg in split_pointer(problem.path):
        key.append((0, int(seg), "") if seg.isdigit() and seg.isascii() else (1, 0, seg))
    return (key, problem.code, problem.message)


def tidy(problems) -> list[Problem]:
    """De-duplicate and sort problems for stable output."""
    return sorted(set(problems), key=sort_key)
