"""Where the datasets are: `suite.toml` (or the file in SUITE_CONFIG), overridden by the environment.

    [datasets]
    coco = "/datasets/coco"        # relative paths are taken from the config file's folder
    h36m = "/datasets/h36m"

Each root can also be set by an environment variable SUITE_<NAME>_ROOT (e.g. SUITE_COCO_ROOT),
which wins over the file. A SynthHuman tree (`data synth --out DIR`) gives every root at once.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from suite.data.layouts import DATASETS, SYNTH_FOLDERS
from suite.errors import SuiteError

CONFIG_NAME = "suite.toml"
CONFIG_ENV = "SUITE_CONFIG"


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
    if path is None:
        return {}
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        fix = "fix the syntax; see README 'Datasets'"
        raise SuiteError(f"not valid TOML ({error})", path, fix) from error
    datasets = config.get("datasets", {})
    unknown = sorted(set(datasets) - set(DATASETS))
    if not isinstance(datasets, dict) or unknown:
        raise SuiteError(
            f"unknown dataset keys in [datasets]: {unknown}",
            path,
            f"use only these keys: {', '.join(DATASETS)}",
        )
    return config


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
        root = Path(value).expanduser()
        roots[name] = root if root.is_absolute() or path is None else path.parent / root
    return roots
