"""The catalogue of pre-training methods: what the planner, the report and --help read, without torch.

Each method is registered here by a torch-free settings module (its Config dataclass and one
METHODS.add(MethodEntry(...)) line); its torch code is imported only when a job builds it
(METHODS.load(name)). A plugin's `@register` class (method.py) registers the same kind of entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from suite.registry import Entry, Registry


@dataclass(frozen=True)
class MethodEntry(Entry):
    # Step time relative to MoCo-v2's at the paper's shapes, for `plan`'s device-hour estimates:
    # benchmarks/pretrain_step.py --device cuda --shapes paper (ResNet-50 at 256 px, 32 images per GPU,
    # bf16 and channels_last, one H200, 2026-12-04).
    cost: float = 1.0


def _profile_changes(profile: str, method: str) -> Mapping[str, Any]:
    """What a pre-training profile changes in every method that has the setting (suite/profiles.py
    method_overrides, e.g. the demo's queue sizes)."""
    from suite.profiles import PRETRAIN_PROFILES

    scale = PRETRAIN_PROFILES.get(profile)
    return {} if scale is None else scale.overrides_for(method)


METHODS = Registry(
    "method",
    builtins=(
        "suite.baselines.moco_settings",
        "suite.baselines.densecl_settings",
        "suite.baselines.pixpro_settings",
        "suite.pretrain.liftedcl_settings",
    ),
    scale=_profile_changes,
)
