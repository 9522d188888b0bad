"""Where the datasets are: `suite.toml` (or the file in SUITE_CONFIG), overridden by the environment.

    [datasets]
    coco = "/datasets/coco"        # relative paths are taken from the config file's folder
    h36m = "/datasets/h36m"

Each root can also be set by an environment variable SUITE_<NAME>_ROOT (e.g. SUITE_COCO_ROOT),
which wins over the file. A SynthHuman tree (`data synth --out DIR`) gives every root at once.

    plugins = ["my_lab.methods"]   # modules imported before methods and tasks are looked up
    [weights]                      # official checkpoints: the paper profile's stage-I ("IN") weights
    moco-v2-in = "/ckpt/moco_v2_200ep_pretrain.pth.tar"

SUITE_PLUGINS (comma-separated modules) adds plugins; SUITE_WEIGHTS_<NAME> (NAME upper-cased, "-"
as "_", e.g. SUITE_WEIGHTS_MOCO_V2_IN) overrides one weights file.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from pathlib import Path

from suite.data.layouts import DATASETS, SYNTH_FOLDERS
from suite.errors import SuiteError

CONFIG_NAME = "suite.toml"
CONFIG_ENV = "SUITE_CONFIG"
PLUGINS_ENV = "SUITE_PLUGINS"
SECTIONS = ("datasets", "weights", "plugins")


def env_var(dataset: str) -> str:
    return f"SUITE_{dataset.upper()}_ROOT"


def config_path() -> Path | None:
    """The config file in use: $SUITE_CONFIG if set (it must exist), else ./suite.toml if present."""
    if CONFIG_ENV in os.environ:
        path = Path(os.environ[CONFIG_ENV])
        if not path.is_file():
            raise SuiteError(
                f"{CONFIG_ENV} points to a file that does not exist", path, f"create it or unset {CONFIG_ENV}"
            )
        return path
    local = Path.cwd() / CONFIG_NAME
    return local if local.is_file() else None


def read_config(path: Path | None) -> dict:
    """The config file's sections, each of the type it must have; SuiteError naming the file and key."""
    if path is None:
        return {}
    try:
        config = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        fix = "fix the syntax; see README 'Datasets'"
        raise SuiteError(f"not valid TOML ({error})", path, fix) from error
    unknown_sections = sorted(set(config) - set(SECTIONS))
    if unknown_sections:
        raise SuiteError(
            f"unknown entries {unknown_sections}", path, f"use only {', '.join(SECTIONS)}; see README"
        )
    datasets = _paths(config, "datasets", path, 'coco = "/datasets/coco"')
    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:
        raise SuiteError(
            f"unknown dataset keys in [datasets]: {unknown}",
            path,
            f"use only these keys: {', '.join(DATASETS)}",
        )
    _paths(config, "weights", path, 'moco-v2-in = "/ckpt/moco_v2_200ep_pretrain.pth.tar"')
    plugins = config.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(name, str) and name for name in plugins):
        raise SuiteError(
            f"plugins is {plugins!r}, expected a list of module names",
            path,
            'write plugins = ["my_lab.methods"]',
        )
    return config


def _paths(config: dict, section: str, path: Path, example: str) -> dict[str, str]:
    """A section of name = "path" entries, each path a non-empty string."""
    table = config.get(section, {})
    if not isinstance(table, dict):
        raise SuiteError(
            f"{section} is {table!r}, expected a [{section}] table",
            path,
            f"write [{section}] and under it {example}",
        )
    for name, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise SuiteError(
                f"[{section}].{name} is {value!r}, expected a path in quotes",
                path,
                f'write {name} = "/path/to/it" under [{section}], as in {example}',
            )
    return table


def _resolve(value: str, path: Path | None) -> Path:
    """A configured path: ~ expanded, relative paths taken from the config file's folder."""
    root = Path(value).expanduser()
    return root if root.is_absolute() or path is None else path.parent / root


def official_weights() -> dict[str, Path]:
    """The configured official checkpoints by name ("moco-v2-in", ...), environment overrides applied."""
    path = config_path()
    weights = read_config(path).get("weights", {})
    chosen = {name: _resolve(str(value), path) for name, value in weights.items()}
    for variable, value in os.environ.items():
        if variable.startswith("SUITE_WEIGHTS_") and value:
            chosen[variable.removeprefix("SUITE_WEIGHTS_").lower().replace("_", "-")] = Path(value)
    return chosen


def weights_variable(name: str) -> str:
    return "SUITE_WEIGHTS_" + name.upper().replace("-", "_")


def load_plugins() -> tuple[str, ...]:
    """Import the modules listed in suite.toml's `plugins` and $SUITE_PLUGINS (they register methods and
    tasks); returns their names."""
    path = config_path()
    listed = read_config(path).get("plugins", [])
    names = [*listed, *filter(None, os.environ.get(PLUGINS_ENV, "").split(","))]
    for name in names:
        try:
            importlib.import_module(name.strip())
        except ImportError as error:
            raise SuiteError(
                f"plugin module {name!r} cannot be imported ({error})",
                path,
                f"install it or put its folder on PYTHONPATH, or remove it from `plugins` / {PLUGINS_ENV}",
            ) from error
    return tuple(names)


def dataset_roots(synth_root: Path | None = None) -> dict[str, Path | None]:
    """The root of every dataset (None where not configured).

    With synth_root, every dataset is taken from that SynthHuman tree and the config is ignored.
    """
    if synth_root is not None:
        return {name: Path(synth_root) / SYNTH_FOLDERS[name] for name in DATASETS}
    path = config_path()
    configured = read_config(path).get("datasets", {})
    roots: dict[str, Path | None] = {}
    for name in DATASETS:
        value = os.environ.get(env_var(name)) or configured.get(name)
        if value is None:
            roots[name] = None
            continue
        roots[name] = _resolve(value, path)
    return roots
