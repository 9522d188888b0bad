"""Cluster profiles (slurm/*.yaml): settings per job kind and clear errors."""

import pytest

from suite.errors import SuiteError
from suite.orchestration.cluster import CLUSTERS, JOB_KINDS, read_cluster


def test_example_profile_maps_to_submitit_parameters():
    cluster = read_cluster("example")
    pretrain = cluster.settings("pretrain").submitit_parameters()
    assert pretrain["tasks_per_node"] == pretrain["gpus_per_node"] == 4  # one process per GPU
    assert pretrain["slurm_partition"] == "gpu" and "slurm_account" not in pretrain
    assert pretrain["timeout_min"] == 2880 and pretrain["slurm_signal_delay_s"] == 120
    prepare = cluster.settings("prepare").submitit_parameters()
    assert "gpus_per_node" not in prepare and prepare["tasks_per_node"] == 1


def test_every_shipped_profile_reads(tmp_path):
    for path in CLUSTERS.glob("*.yaml"):
        cluster = read_cluster(path)
        assert set(cluster.kinds) == set(JOB_KINDS)
    cpu = read_cluster("cpu")
    assert all(cpu.settings(kind).cpus_per_task == 1 for kind in JOB_KINDS)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "site.yaml"
    bad.write_text("pretrain:\n  gpus: 4\n")
    with pytest.raises(SuiteError, match=r"site\.yaml.*unknown keys \['gpus'\]"):
        read_cluster(bad)
    bad.write_text("pretrian:\n  nodes: 1\n")
    with pytest.raises(SuiteError, match="unknown sections"):
        read_cluster(bad)
    bad.write_text("defaults:\n  nodes: two\n")
    with pytest.raises(SuiteError, match="non-negative integer"):
        read_cluster(bad)
    with pytest.raises(SuiteError, match="not found"):
        read_cluster("no-such-cluster")
