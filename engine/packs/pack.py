"""A pack: its manifest (name, version, label, description, depends) and its bundle
(metadata, demo data, upgrade steps), as a plugin ships it."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from engine.jsontext import strict_loads
from metadata.layering import check_change
from metadata.model import language_map
from metadata.resources import cached_schema

from .sources import compose


class PackInvalid(ValueError):
    """A pack whose manifest or bundle is malformed: a programming error of its author,
    reported with every problem."""

    def __init__(self, name, problems):
        self.problems = list(problems)
        super().__init__(f"pack {name} is invalid: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Pack:
    """What `loom_packs()` returns. Build it with `Pack.from_directory` (pack.json listing
    the bundle's files, see sources.py, beside demo.json) or directly."""

    name: str
    version: str
    label: dict
    description: dict | None = None
    depends: tuple = ()
    bundle: dict = field(default_factory=lambda: {"entities": []})
    demo: dict | None = None
    upgrades: tuple = ()            # ({"from", "to", "steps": [...]}, ...)
    upgrade_steps: dict = field(default_factory=dict)  # {to version: fn(context)}
    demo_loader: Callable | None = None

    def __post_init__(self):
        problems = manifest_problems(self.manifest())
        for n, change in enumerate(self.bundle.get("extends", ())):
            problem = check_change(change)
            if problem:
                problems.append(f"/extends/{n}: {problem}")
        if not isinstance(self.bundle, dict):
            problems.append("the bundle must be an object")
        if problems:
            raise PackInvalid(self.name, problems)
        object.__setattr__(self, "depends", tuple(self.depends))
        object.__setattr__(self, "upgrades", tuple(self.upgrades))
        object.__setattr__(self, "label", language_map(self.label))
        object.__setattr__(self, "description", language_map(self.description))

    def manifest(self) -> dict:
        out = {"name": self.name, "version": self.version, "label": self.label,
               "depends": list(self.depends), "upgrades": [dict(u) for u in self.upgrades]}
        if self.description is not None:
            out["description"] = self.description
        return out

    def document(self) -> dict:
        """The bundle's own definitions, without `extends` (a fresh copy)."""
        return {k: copy.deepcopy(v) for k, v in self.bundle.items() if k != "extends"}

    def version_key(self) -> tuple:
        return version_key(self.version)

    def steps_between(self, old: str, new: str) -> list:
        """The data steps from `old` to `new`, in version order: declared ones and
        Python ones (`upgrade_steps`)."""
        lower, upper = version_key(old), version_key(new)
        found = []
        for upgrade in sorted(self.upgrades, key=lambda u: version_key(u["to"])):
            if lower < version_key(upgrade["to"]) <= upper:
                found += [("declared", upgrade["to"], step) for step in upgrade.get("steps", ())]
        for to, fn in sorted(self.upgrade_steps.items(), key=lambda kv: version_key(kv[0])):
            if lower < version_key(to) <= upper:
                found.append(("python", to, fn))
        return found

    @classmethod
    def from_directory(cls, directory, *, upgrade_steps=None, demo_loader=None, **overrides) -> "Pack":
        """Read pack.json in `directory`: its `bundle` lists the bundle's files (or
        `metadata` names one file holding the whole bundle), `demo` names a file beside it.
        `overrides` replace manifest values (a test's next version, say)."""
        directory = Path(directory)
        manifest = _read(directory / "pack.json")
        manifest.update(overrides)
        problems = manifest_problems(manifest)
        if problems:
            raise PackInvalid(manifest.get("name", directory.name), problems)
        if "bundle" in manifest:
            bundle, problems = compose(directory, manifest["bundle"])
            if problems:
                raise PackInvalid(manifest["name"], problems)
        else:
            bundle = _part(directory, manifest.get("metadata"), {"entities": []})
        demo = _part(directory, manifest.get("demo"), None)
        return cls(name=manifest["name"], version=manifest["version"], label=manifest["label"],
                   description=manifest.get("description"), depends=tuple(manifest.get("depends", ())),
                   bundle=bundle, demo=demo, upgrades=tuple(manifest.get("upgrades", ())),
                   upgrade_steps=dict(upgrade_steps or {}), demo_loader=demo_loader)


def _read(path: Path):
    try:
        return strict_loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PackInvalid(path.parent.name, [f"cannot read {path}: {exc.strerror}"]) from None
    except ValueError as exc:
        raise PackInvalid(path.parent.name, [f"{path} is not valid JSON: {exc}"]) from None


def _part(directory: Path, ref, default):
    if ref is None:
        return default
    if isinstance(ref, dict):
        return copy.deepcopy(ref)
    return _read(directory / ref)


def version_key(text: str) -> tuple:
    return tuple(int(part) for part in text.split("."))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(cached_schema("pack"))


def manifest_problems(manifest) -> list[str]:
    """Every problem of a manifest, as `path: message` strings."""
    problems = []
    for error in sorted(_validator().iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        message = error.message
        if error.validator == "not" and not error.absolute_path:
            message = "give the bundle either as `bundle` (its files) or as `metadata`, not both"
        problems.append(f"{where}: {message}")
    if not problems and manifest["name"] in manifest.get("depends", ()):
        problems.append("/depends: a pack cannot depend on itself")
    return problems
