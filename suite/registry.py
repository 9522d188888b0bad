"""One registry type for pre-training methods and downstream tasks; it imports no torch.

    METHODS = Registry("method", builtins=("suite.baselines.moco_settings", ...))
    METHODS.add(MethodEntry("moco-v2", MoCoConfig, "suite.baselines.moco:MoCo", cost=1.0))
    METHODS.names()                       # every registered name, the suite's and the plugins'
    METHODS.get("moco-v2")                # its entry: settings dataclass, facts the planner reads
    METHODS.settings("moco-v2", profile="demo", changes={"queue_size": "1024"})   # checked, typed
    METHODS.load("moco-v2")               # the implementation class: only the job that runs it

An entry holds what `plan`, `report` and `--help` need (the name, the settings dataclass with the
paper's or the protocol's defaults, the changes each profile makes to them, cost figures, datasets
and metrics) and names its implementation by module path, so reading the catalogue never imports
torch. The suite's own entries are registered by torch-free catalogue modules (`builtins`);
plugins (suite.toml `plugins`, $SUITE_PLUGINS) register theirs on first use, eagerly or by path.

Settings changes (`--set KEY=VALUE`, a table's row settings) are checked against the dataclass:
an unknown name, or a value that does not fit the field's type, is refused with the setting's name,
its type and its default. Strings are parsed by the field's type (true/false, numbers, tuples as
"1,2" or "(1, 2)", none for optional fields).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from suite.errors import SuiteError


@dataclass(frozen=True)
class Entry:
    """A registered method or task: its settings and where its code is."""

    name: str
    settings: type  # a dataclass; its defaults are the paper's (a method) or the protocol's (a task)
    implementation: str  # "package.module:Attribute", imported by load()
    # per profile name: the settings a profile changes (sizes and budgets only, never the code path)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    summary: str = ""  # one line for --help

    def profile_changes(self, profile: str | None) -> dict[str, Any]:
        return dict(self.profiles.get(profile, {})) if profile is not None else {}


class Registry:
    """Entries by name; the suite's builtin catalogue modules and the plugins are imported on first use.

    scale(profile, name), if given, is what a profile changes in every entry's settings besides the
    entry's own `profiles` (e.g. the pre-training profiles' queue sizes); only the settings an entry
    has are changed.
    """

    def __init__(
        self,
        kind: str,
        builtins: Iterable[str] = (),
        scale: Callable[[str, str], Mapping[str, Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.builtins = tuple(builtins)
        self.scale = scale
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}
        self._ready = False

    # -- registering ---------------------------------------------------------------------------

    def add(self, entry: Entry, implementation: Any = None) -> Entry:
        """Register an entry (implementation: the object itself, when it is already imported)."""
        if not dataclasses.is_dataclass(entry.settings):
            raise ValueError(f"{self.kind} {entry.name!r}: settings must be a dataclass")
        other = self._entries.get(entry.name)
        if other is not None and other.implementation != entry.implementation:
            raise ValueError(
                f"a {self.kind} named {entry.name!r} is already registered by {other.implementation}"
            )
        self._entries[entry.name] = entry
        if implementation is not None:
            self._loaded[entry.name] = implementation
        return entry

    def remove(self, name: str) -> None:
        """Forget an entry (tests that register a toy one)."""
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    # -- reading -------------------------------------------------------------------------------

    def _load_catalogue(self) -> None:
        if self._ready:
            return
        self._ready = True
        for module in self.builtins:
            importlib.import_module(module)
        from suite.config import load_plugins

        load_plugins()

    def names(self) -> list[str]:
        self._load_catalogue()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        self._load_catalogue()
        return name in self._entries

    def get(self, name: str) -> Entry:
        self._load_catalogue()
        if name not in self._entries:
            raise SuiteError(
                f"unknown {self.kind} {name!r}", fix=f"use one of {', '.join(sorted(self._entries))}"
            )
        return self._entries[name]

    def load(self, name: str) -> Any:
        """The implementation of `name` (imports its module: torch, for methods and tasks)."""
        entry = self.get(name)
        if name not in self._loaded:
            module, _, attribute = entry.implementation.partition(":")
            target: Any = importlib.import_module(module)
            for part in attribute.split("."):
                target = getattr(target, part)
            self._loaded[name] = target
        return self._loaded[name]

    def profile_changes(self, name: str, profile: str | None) -> dict[str, Any]:
        """What `profile` changes in the settings of `name`: the registry's scale (for the settings the
        entry has), then the entry's own `profiles`."""
        entry = self.get(name)
        scaled = {}
        if profile is not None and self.scale is not None:
            fields = {f.name for f in dataclasses.fields(entry.settings)}
            scaled = {k: v for k, v in self.scale(profile, name).items() if k in fields}
        return {**scaled, **entry.profile_changes(profile)}

    def settings(
        self,
        name: str,
        profile: str | None = None,
        changes: Mapping[str, Any] | None = None,
        variant: str | None = None,
    ) -> Any:
        """The settings of `name`: the defaults (or a named variant's, a classmethod of the dataclass),
        then the profile's changes, then `changes`, each checked against the dataclass's fields."""
        entry = self.get(name)
        cls = entry.settings
        if variant is not None and variant not in variants(cls):
            raise SuiteError(
                f"{self.kind} {name} has no variant {variant!r}",
                fix="leave the variant out for its defaults"
                + (f", or use one of {', '.join(variants(cls))}" if variants(cls) else ""),
            )
        what = f"{self.kind} {name}"
        scaled = parse_changes(cls, self.profile_changes(name, profile), what=f"{what} at {profile}")
        given = parse_changes(cls, changes or {}, what=what)
        make = cls if variant is None else getattr(cls, variant)
        try:
            return make(**{**scaled, **given})
        except (TypeError, ValueError) as error:
            raise SuiteError(f"{self.kind} {name}: {error}", fix=settings_help(cls)) from error


def from_class(entry_type: type[Entry], cls: type, **facts: Any) -> Entry:
    """The entry a plugin's decorated class makes of itself: its `name`, `Config`, module path, the
    first line of its docstring as the summary, its `profiles` if it has them, and `facts`."""
    lines = (cls.__doc__ or "").strip().splitlines()
    return entry_type(
        cls.name,
        cls.Config,
        f"{cls.__module__}:{cls.__qualname__}",
        profiles=getattr(cls, "profiles", {}),
        summary=lines[0] if lines else "",
        **facts,
    )


# -- typed settings changes --------------------------------------------------------------------


def parse_assignments(texts: Iterable[str], settings: type | None = None) -> dict[str, str]:
    """KEY=VALUE strings (--set) as a dict; SuiteError on one without '=' (naming the setting's type
    and default when `settings`, the dataclass, has it)."""
    changes = {}
    for text in texts:
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            fields = {} if settings is None else {f.name: f for f in dataclasses.fields(settings)}
            if key.strip() in fields:
                f = fields[key.strip()]
                hint = typing.get_type_hints(settings)[f.name]
                raise SuiteError(
                    f"--set {text} gives no value: {f.name} takes {type_name(hint)} (default {_default(f)})",
                    fix=f"e.g. --set {f.name}={_example(f)}",
                )
            raise SuiteError(f"--set {text!r} is not KEY=VALUE", fix="write it as --set name=value")
        changes[key.strip()] = value
    return changes


def parse_changes(cls: type, changes: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Changes to a settings dataclass, each value converted to (or checked against) its field's type."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise SuiteError(f"{what} has no setting {', '.join(unknown)}", fix=settings_help(cls))
    parsed = {}
    for key, value in changes.items():
        try:
            parsed[key] = convert(value, hints[key])
        except (TypeError, ValueError) as error:
            # the reason helps where the type alone does not say what was wrong (tuples, unions)
            detail = f" ({error})" if typing.get_origin(hints[key]) is not None else ""
            raise SuiteError(
                f"{what}: setting {key} takes {type_name(hints[key])}, not {value!r}{detail}",
                fix=f"e.g. --set {key}={_example(fields[key])}",
            ) from None
    return parsed


def convert(value: Any, hint: Any) -> Any:
    """`value` (a string from the command line, or a JSON/Python value) as the type `hint`."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in arguments and (value is None or _is_none(value)):
            return None
        errors = []
        for option in (a for a in arguments if a is not type(None)):
            try:
                return convert(value, option)
            except (TypeError, ValueError) as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors))
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")
    if hint is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected an integer")
        try:
            return int(value.strip()) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ValueError("expected an integer") from None
    if hint is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            return float(_fraction(value) if isinstance(value, str) else value)
        except (TypeError, ValueError, ZeroDivisionError):
            raise ValueError("expected a number") from None
    if hint is str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    if origin is tuple:
        items = _sequence(value)
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(convert(item, arguments[0]) for item in items)
        if len(items) != len(arguments):
            raise ValueError(f"expected {len(arguments)} values")
        return tuple(convert(item, kind) for item, kind in zip(items, arguments, strict=True))
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    raise ValueError(f"cannot convert to {type_name(hint)}")


def _is_none(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("none", "null", "")


def _fraction(text: str) -> float:
    """A number as text, fractions such as 1/0.3 included."""
    try:
        return float(text)
    except ValueError:
        numerator, slash, denominator = text.partition("/")
        if slash:
            return float(numerator) / float(denominator)
        raise


def _sequence(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if not isinstance(value, str):
        raise ValueError("expected a sequence")
    text = value.strip()
    if text.startswith(("(", "[")):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError) as error:
            raise ValueError("not a tuple") from error
        return list(parsed) if isinstance(parsed, list | tuple) else [parsed]
    return [part for part in (p.strip() for p in text.split(",")) if part]


def type_name(hint: Any) -> str:
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("none" if a is type(None) else type_name(a) for a in arguments)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return f"comma-separated {_plural(arguments[0])}"
        if len(set(arguments)) == 1:
            return f"{len(arguments)} comma-separated {_plural(arguments[0])}"
        return f"{len(arguments)} comma-separated values ({', '.join(type_name(a) for a in arguments)})"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def _plural(hint: Any) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "true/false values"}.get(
        hint, type_name(hint)
    )


def format_value(value: Any) -> str:
    """A setting's value as --set takes it: true/false, none, tuples as 1,2."""
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return ",".join(map(format_value, value)) if value else "()"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _example(f: dataclasses.Field) -> str:
    return format_value(f.default)


def _default(f: dataclasses.Field) -> str:
    if f.default is dataclasses.MISSING:
        return "required" if f.default_factory is dataclasses.MISSING else repr(f.default_factory())
    return _example(f)


def setting_rows(cls: type) -> list[tuple[str, str, str]]:
    """(name, type, default) of every setting of a dataclass, in its order."""
    hints = typing.get_type_hints(cls)
    return [(f.name, type_name(hints[f.name]), _default(f)) for f in dataclasses.fields(cls)]


def variants(cls: type) -> tuple[str, ...]:
    """The named variants of a settings dataclass: its classmethods (e.g. LiftedCL's `official`)."""
    found = {}
    for klass in reversed(cls.__mro__):
        found |= {name: isinstance(value, classmethod) for name, value in vars(klass).items()}
    return tuple(name for name, is_variant in found.items() if is_variant)


def settings_help(cls: type) -> str:
    """Every setting of a dataclass with its type and default, for --help and error messages."""
    described = [f"{name} ({kind}, default {default})" for name, kind, default in setting_rows(cls)]
    return "settings: " + "; ".join(described)
