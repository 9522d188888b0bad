"""What the verb modules share: the parser class, the catalogues' names and settings for --help, and
typed `--set` changes. Nothing here imports torch."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from suite.profiles import PROFILES
from suite.registry import Registry, format_value, parse_assignments, parse_changes, setting_rows, variants


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose epilog may be made when its help is printed (`epilog_from`), so that
    the catalogues (and the plugins) are read by `--help` and not by every command."""

    def __init__(self, *args: Any, epilog_from: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog_from = epilog_from

    def format_help(self) -> str:
        if self.epilog_from is not None:
            self.epilog = self.epilog_from()
        return super().format_help()


class Names:
    """A registry's names as argparse `choices`, read when a value is checked or the help lists them."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __contains__(self, name: object) -> bool:
        return name in self.registry

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry.names())


def catalogue_verb(
    verbs: argparse._SubParsersAction, verb: str, help: str, registry: Registry, option: str, choice_help: str
) -> argparse.ArgumentParser:
    """A verb that runs an entry of a catalogue (`pretrain --method`, `finetune --task`): the entry's
    name among the catalogue's, and every entry's settings listed at the end of its --help."""
    parser = verbs.add_parser(
        verb,
        help=help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog_from=lambda: catalogue_help(
            registry, f"{registry.kind}s and their settings (--set KEY=VALUE: name, type, default):"
        ),
    )
    parser.add_argument(option, required=True, choices=Names(registry), metavar="NAME", help=choice_help)
    return parser


def catalogue_help(registry: Registry, title: str) -> str:
    """Every entry of a registry: its summary, settings (type, default), variants and profile changes."""
    lines = [title, ""]
    for entry in registry.entries():
        lines.append(f"  {entry.name}: {entry.summary}" if entry.summary else f"  {entry.name}")
        rows = setting_rows(entry.settings)
        width = max(len(name) for name, _, _ in rows)
        kinds = max(len(kind) for _, kind, _ in rows)
        lines += [f"    {name:<{width}}  {kind:<{kinds}}  {default}" for name, kind, default in rows]
        if variants(entry.settings):
            lines.append(f"    variants (--variant): {', '.join(variants(entry.settings))}")
        for profile in PROFILES:
            changes = registry.profile_changes(entry.name, profile)
            if changes:
                described = ", ".join(f"{key}={format_value(value)}" for key, value in changes.items())
                lines.append(f"    at {profile}: {described}")
        lines.append("")
    return "\n".join(lines)


def typed_changes(
    registry: Registry, name: str, assignments: Iterable[str], profile: str, variant: str | None = None
) -> dict[str, Any]:
    """`--set KEY=VALUE` arguments as changes to the settings of `name`, each of its field's type;
    checked here, before any torch is imported, with the profile's changes and the variant (SuiteError
    naming the setting, its type and default)."""
    settings = registry.get(name).settings
    changes = parse_changes(
        settings, parse_assignments(assignments, settings), what=f"{registry.kind} {name}"
    )
    registry.settings(name, profile=profile, changes=changes, variant=variant)
    return changes
