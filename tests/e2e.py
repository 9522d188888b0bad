"""Helpers of the end-to-end tests: the suite's command line on a work directory, and what it left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from suite.orchestration.store import RUNS, read_json

# The smoke profile by default (the demo's code paths, the least work); SUITE_E2E_PROFILE=demo runs the
# same tests at the demo's scale (about twice `make demo`'s time for the SLURM comparison).
PROFILE = os.environ.get("SUITE_E2E_PROFILE", "smoke")
PLANNED = 25  # Table 4 at the demo's scale: SynthHuman, crops, 7 pre-trainings, 8 fine-tunings and tests
TOY_METHOD = """
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from suite.pretrain.method import Method, StepOutput, register


@dataclass(frozen=True)
class ToyConfig:
    dim: int = 16
    init: str = "torchvision"


@register
class Toy(Method):
    name = "toy"
    Config = ToyConfig

    def __init__(self, backbone, config):
        super().__init__(backbone, config)
        self.trunk = backbone()
        self.head = torch.nn.Linear(self.trunk.num_channels, config.dim)

    def forward(self, batch, progress):
        z1, z2 = (F.normalize(self.head(self.trunk(v).mean((2, 3))), dim=1) for v in batch.views)
        loss = -(z1 * z2.detach()).sum(1).mean()
        return StepOutput(loss, {"loss": loss.detach()})

    def backbone(self):
        return self.trunk
"""


def suite(*args: str, workdir: Path) -> list[str]:
    return [sys.executable, "-m", "suite", *args, "--profile", PROFILE, "--workdir", str(workdir)]


def records(workdir: Path) -> dict[str, dict]:
    found = {}
    for folder in (workdir / RUNS).glob("*"):
        record = read_json(folder / "record.json")
        if record is not None:
            found[folder.name] = record
    return found


def submissions(workdir: Path) -> int:
    return sum(len(read_json(f)["jobs"]) for f in (workdir / RUNS).glob("*/submission.json"))


def stopped_and_resumed(root: Path, *extra: str):
    """A local `run --table 4`, stopped by SIGTERM once some runs are done and a pre-training is under
    way, then run again to the end. Returns (workdir, results, records as the stop left them, second run)."""
    workdir, results = root / "work", root / "results"
    command = [*suite("run", "--table", "4", workdir=workdir), "--executor", "local", "--poll", "0.2"]
    command += ["--results", str(results), *extra]
    stop_during_a_pretraining(command, workdir)
    before = settled(workdir)
    second = subprocess.run(command, capture_output=True, text=True, timeout=900)
    return workdir, results, before, second


def stop_during_a_pretraining(command: list[str], workdir: Path) -> None:
    """Start `command` and SIGTERM it once 4 runs are done and a pre-training has its first checkpoint."""
    first = subprocess.Popen(  # as `nohup run ... &` starts it: SIGINT ignored, which its jobs inherit
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    deadline = time.time() + 600
    while time.time() < deadline and first.poll() is None:
        found = records(workdir)
        done = [r for r in found.values() if r["status"] == "done"]
        pretraining = [
            key for key, r in found.items()
            if r["kind"] == "pretrain" and r["status"] == "running"
            and (workdir / RUNS / key / "checkpoint.pt").exists()
        ]  # fmt: skip
        if len(done) >= 4 and pretraining:
            break
        time.sleep(0.02)  # stop it soon after its first checkpoint, well before its last step
    assert first.poll() is None, "the run ended before it could be stopped"
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) != 0


def settled(workdir: Path, timeout_s: float = 60.0) -> dict[str, dict]:
    """The records once no run says "running": the jobs a stopped `run` cancels record their end
    (interrupted, or done if they were finishing) a moment after it exits."""
    deadline = time.time() + timeout_s
    while True:
        found = records(workdir)
        if time.time() > deadline or all(r["status"] != "running" for r in found.values()):
            return found
        time.sleep(0.1)
