"""SLURM settings per job kind, from a cluster profile: slurm/<cluster>.yaml (or any YAML file).

    defaults:                 # every kind starts from these
      partition: gpu
      account: null
      qos: null
      constraint: null
      signal_delay_s: 120     # USR2 this long before the time limit: the job checkpoints and requeues
      max_num_timeout: 20     # requeues after hitting the time limit
    pretrain:  {nodes: 1, gpus_per_node: 4, cpus_per_task: 10, mem_gb: 256, time_min: 2880}
    finetune:  {nodes: 1, gpus_per_node: 4, cpus_per_task: 10, mem_gb: 256, time_min: 2880}
    evaluate:  {nodes: 1, gpus_per_node: 1, cpus_per_task: 10, mem_gb: 64, time_min: 120}
    prepare:   {nodes: 1, gpus_per_node: 0, cpus_per_task: 16, mem_gb: 64, time_min: 240}

Pre-training and fine-tuning run one process per GPU (tasks per node = GPUs per node, one on a CPU
node, unless `tasks_per_node` says otherwise), joined by torch.distributed (NCCL, gloo on CPUs) from
submitit's job environment. `prepare` is data preparation
(SynthHuman, COCO crops). A kind left out takes `defaults` alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from suite.errors import SuiteError

CLUSTERS = Path(__file__).resolve().parents[2] / "slurm"
JOB_KINDS = ("prepare", "pretrain", "finetune", "evaluate")
COUNTS = (  # integer settings, at least 0
    "nodes",
    "gpus_per_node",
    "tasks_per_node",
    "cpus_per_task",
    "time_min",
    "signal_delay_s",
    "max_num_timeout",
)
OPTIONAL = ("tasks_per_node",)  # may be null: the default
NAMES = ("partition", "account", "qos", "constraint")  # SLURM names, or null: the cluster's default
FIX = "see slurm/example.yaml and the README section 'Running on SLURM'"


@dataclass(frozen=True)
class SlurmSettings:
    partition: str | None = None
    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int = 1
    mem_gb: float = 8
    time_min: int = 60
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    signal_delay_s: int = 120
    max_num_timeout: int = 20
    tasks_per_node: int | None = None  # processes per node; default one per GPU (one on a CPU node)

    @property
    def tasks(self) -> int:
        return self.tasks_per_node or max(1, self.gpus_per_node)

    def submitit_parameters(self) -> dict:
        """This kind's settings as submitit AutoExecutor parameters (max_num_timeout is the executor's own
        argument, slurm_max_num_timeout)."""
        parameters = {
            "nodes": self.nodes,
            "tasks_per_node": self.tasks,
            "cpus_per_task": self.cpus_per_task,
            "mem_gb": self.mem_gb,
            "timeout_min": self.time_min,
            "slurm_signal_delay_s": self.signal_delay_s,
        }
        if self.gpus_per_node:
            parameters["gpus_per_node"] = self.gpus_per_node
        for name in ("partition", "account", "qos", "constraint"):
            if getattr(self, name) is not None:
                parameters[f"slurm_{name}"] = getattr(self, name)
        return parameters


@dataclass(frozen=True)
class Cluster:
    name: str
    path: Path | None
    kinds: dict[str, SlurmSettings]

    def settings(self, kind: str) -> SlurmSettings:
        return self.kinds[kind]


def read_cluster(name_or_path: str | Path) -> Cluster:
    """slurm/<name>.yaml, or a YAML file at a path; SuiteError naming the file for anything malformed."""
    import yaml

    path = Path(name_or_path)
    if not path.suffix:
        path = CLUSTERS / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in CLUSTERS.glob("*.yaml"))
        raise SuiteError(
            "cluster profile not found", path, f"use one of {known} or a YAML file of your own; {FIX}"
        )
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise SuiteError(f"not valid YAML ({error})", path, FIX) from error
    unknown = sorted(set(content) - {"defaults", *JOB_KINDS}) if isinstance(content, dict) else ["?"]
    if unknown:
        raise SuiteError(f"unknown sections {unknown}", path, f"use defaults, {', '.join(JOB_KINDS)}; {FIX}")
    defaults = _settings(SlurmSettings(), content.get("defaults") or {}, "defaults", path)
    kinds = {kind: _settings(defaults, content.get(kind) or {}, kind, path) for kind in JOB_KINDS}
    return Cluster(path.stem, path, kinds)


def _settings(base: SlurmSettings, values: dict, section: str, path: Path) -> SlurmSettings:
    names = {field.name for field in fields(SlurmSettings)}
    if not isinstance(values, dict):
        raise SuiteError(f"section {section!r} is not a mapping", path, FIX)
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise SuiteError(f"section {section!r} has unknown keys {unknown}", path, f"use {sorted(names)}")
    for key, value in values.items():
        if value is None and key in (*OPTIONAL, *NAMES):
            continue
        if key in COUNTS and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise SuiteError(f"{section}.{key} must be a non-negative integer, not {value!r}", path, FIX)
        if key == "mem_gb" and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf
        ):
            raise SuiteError(f"{section}.{key} must be a positive number of GB, not {value!r}", path, FIX)
        if key in NAMES and (not isinstance(value, str) or not value.strip()):
            raise SuiteError(f"{section}.{key} must be a name or null, not {value!r}", path, FIX)
    return replace(base, **values)
