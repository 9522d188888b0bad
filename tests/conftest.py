"""Shared test fixtures: the real dataset samples in ../shared/fixtures, and a reachable SLURM cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"

# Node states (sinfo %T, long form) in which the node can run jobs. A trailing '*' means the node does
# not respond, which is not usable either.
USABLE_NODE_STATES = {"idle", "mixed", "allocated", "completing"}


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml uses --strict-markers; the SLURM marker is registered here, next to its fixture.
    config.addinivalue_line("markers", "slurm: submits jobs to a real SLURM cluster (fixture slurm_cluster)")


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The root of ../shared/fixtures. Skips without it, except under CI (CI=true), where it fails."""
    if SHARED_FIXTURES.is_dir():
        return SHARED_FIXTURES
    message = f"the real dataset samples are not at {SHARED_FIXTURES} (a copy of shared/ beside the clone)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must provide them")
    pytest.skip(message)


def _slurm_problem() -> tuple[str | None, dict[str, str]]:
    """(why no usable cluster is reachable, or None; {node: state} as sinfo reports it)."""
    for tool in ("sinfo", "sbatch", "srun", "squeue", "scontrol"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not on PATH (no SLURM client installed)", {}
    try:
        out = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%N %T"],
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        return "`sinfo` did not answer within 15 s (slurmctld unreachable?)", {}
    if out.returncode != 0:
        return f"`sinfo` failed (slurmctld not running?): {out.stderr.strip() or out.stdout.strip()}", {}
    nodes = dict(line.split(maxsplit=1) for line in out.stdout.splitlines() if len(line.split()) == 2)
    if not any(state in USABLE_NODE_STATES for state in nodes.values()):
        return f"no SLURM node is usable (idle/mixed/allocated); sinfo reports {nodes or 'no node'}", nodes
    return None, nodes


@pytest.fixture(scope="session")
def slurm_cluster() -> dict[str, str]:
    """A reachable SLURM cluster with a usable node; returns {node: state} as sinfo reported it.

    Skips without one, except under CI (CI=true), where it fails: CI runs .ci/slurm-cluster first."""
    problem, nodes = _slurm_problem()
    if problem is None:
        return nodes
    if _under_ci():
        pytest.fail(f"{problem}; CI must bring the cluster up first: run .ci/slurm-cluster (as root)")
    pytest.skip(f"{problem}; run .ci/slurm-cluster (as root) for a one-node cluster on this machine")


@pytest.fixture(scope="session")
def local_table4(tmp_path_factory):
    """Table 4 at the smoke profile with the local executor, stopped half-way and run again to the end
    (tests/e2e.py): (workdir, results, records when stopped, the second run's CompletedProcess)."""
    from e2e import stopped_and_resumed

    return stopped_and_resumed(tmp_path_factory.mktemp("table4"))


@pytest.fixture(scope="session")
def h36m_synth(tmp_path_factory) -> dict[str, Path]:
    """SynthHuman Human3.6M (8 training frames of S1, 5-8, 8 test frames of S9, S11) and MPII (8 persons);
    read-only."""
    import numpy as np

    from suite.data.synth import h36m, mpii

    root = tmp_path_factory.mktemp("h36m_synth")
    h36m.write(root / "h36m", 8, np.random.default_rng(0))
    mpii.write(root / "mpii", 8, np.random.default_rng(1))
    return {"h36m": root / "h36m", "mpii": root / "mpii"}
