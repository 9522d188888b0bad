"""Fine-tuning with the 3D prior (suite/finetune/prior.py): the ranges hold every prior skeleton, the
penalty catches a doubled bone and a knee bent the wrong way and ignores scale, rotation and translation,
the reprojection loss by hand, the lifting head's gradient reaching the trunk, prior=False models as
before, and a fine-tuning of h36m-2d and h36m-3d with the prior."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import torch

from suite.data.kinematic_prior import sample_skeletons, template_skeleton
from suite.data.skeleton import JOINTS, NUM_JOINTS
from suite.finetune.prior import (
    LiftingHead,
    kinematic_features,
    prior_penalty,
    prior_ranges,
    reprojection_loss,
)
from suite.finetune.run import build_task, evaluate_task, train_task
from suite.models.backbone import ResNetTrunk
from suite.profiles import finetune_profile

KNEE, ANKLE = JOINTS.index("r_knee"), JOINTS.index("r_ankle")
# Tiny settings of each task: the least work that runs every step.
CHANGES = {
    "h36m-2d": {"input_size": 32, "heatmap_size": 8, "batch_size": 4, "epochs": 1, "milestones": ()},
    "h36m-3d": {"input_size": 32, "batch_size": 4, "epochs": 1, "milestones": ()},
}


def standing() -> torch.Tensor:
    """The prior's rest pose (1, 17, 3), mm, float64."""
    return torch.from_numpy(template_skeleton())[None]


def knee_bent(degrees: float) -> torch.Tensor:
    """The rest pose with the right shin turned about the left-right axis; positive: backwards (+z, as
    the prior's knees bend), negative: forwards."""
    joints = standing()
    angle = math.radians(degrees)
    turn = torch.tensor(
        [[1, 0, 0], [0, math.cos(angle), -math.sin(angle)], [0, math.sin(angle), math.cos(angle)]],
        dtype=joints.dtype,
    )
    joints[0, ANKLE] = joints[0, KNEE] + turn @ (joints[0, ANKLE] - joints[0, KNEE])
    return joints


def shin_times(factor: float) -> torch.Tensor:
    joints = standing()
    joints[0, ANKLE] = joints[0, KNEE] + factor * (joints[0, ANKLE] - joints[0, KNEE])
    return joints


def random_rotations(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 3, 3) proper rotations."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    return q * torch.sign(torch.linalg.det(q))[:, None, None]


@pytest.mark.parametrize("normalize", [False, True])
def test_every_fresh_prior_skeleton_is_inside_the_ranges(normalize):
    skeletons = torch.from_numpy(sample_skeletons(5000, seed=2024, normalize=normalize))
    low, high = prior_ranges()
    features = kinematic_features(skeletons.double())
    assert ((features >= low) & (features <= high)).all()
    assert prior_penalty(skeletons).item() == 0.0  # float32 too
    assert low.shape == high.shape == (16 + 16 * 3,) and (low < high).all()


def test_the_ranges_are_computed_once_and_cheaply():
    prior_ranges.cache_clear()
    start = time.perf_counter()
    first = prior_ranges()
    assert time.perf_counter() - start < 5.0  # ~0.4 s on one core of a shared machine
    assert prior_ranges() is first


def test_a_doubled_bone_and_a_knee_bent_the_wrong_way_are_penalised_more_the_further_they_go():
    assert prior_penalty(standing()).item() == 0.0
    assert prior_penalty(knee_bent(90)).item() == 0.0  # backwards, as knees bend
    doubled, tripled = prior_penalty(shin_times(2)), prior_penalty(shin_times(3))
    assert 0 < doubled < tripled
    forwards = [prior_penalty(knee_bent(-degrees)).item() for degrees in (60, 75, 90)]
    assert 0 < forwards[0] < forwards[1] < forwards[2]
    assert prior_penalty(knee_bent(-120)).item() > 0  # the coordinate's angle folds back past 90°


def test_the_penalty_ignores_scale_rotation_and_translation():
    generator = torch.Generator().manual_seed(0)
    poses = torch.from_numpy(sample_skeletons(64, seed=7)).double()
    poses = poses + 0.1 * torch.randn(poses.shape, generator=generator, dtype=torch.float64)  # implausible
    per_pose = torch.stack([prior_penalty(pose[None]) for pose in poses])
    assert (per_pose > 0).sum() > 32
    rotations = random_rotations(len(poses), generator)
    scales = torch.exp(torch.randn(len(poses), 1, 1, generator=generator, dtype=torch.float64))
    shifts = torch.randn(len(poses), 1, 3, generator=generator, dtype=torch.float64)
    moved = scales * poses @ rotations.transpose(1, 2) + shifts
    moved_per_pose = torch.stack([prior_penalty(pose[None]) for pose in moved])
    torch.testing.assert_close(moved_per_pose, per_pose, rtol=1e-6, atol=1e-12)
    torch.testing.assert_close(kinematic_features(moved), kinematic_features(poses), rtol=1e-6, atol=1e-9)


def test_reprojection_of_the_true_pose_is_zero_in_any_frame_and_scale():
    generator = torch.Generator().manual_seed(1)
    poses = torch.from_numpy(sample_skeletons(8, seed=3)).double()
    joints2d = 250 * poses[..., :2] + torch.tensor([120.0, 80.0], dtype=torch.float64)  # pixels
    weight = (torch.rand(8, NUM_JOINTS, generator=generator) > 0.3).double()
    assert reprojection_loss(poses, joints2d, weight).item() == pytest.approx(0.0, abs=1e-20)


def test_reprojection_loss_by_hand():
    # pose 0, joints 0-2 labelled: predicted (0, 0), (3, 0), (0, 3) -> centred on (1, 1), RMS 2;
    # true (0, 0), (3, 0), (3, 3) -> centred on (2, 1), RMS 2; normalised differences (0.5, 0), (0.5, 0),
    # (−1, 0): squared 0.25, 0.25, 1, mean 0.5. Pose 1 has one labelled joint: left out.
    joints3d = torch.randn(2, NUM_JOINTS, 3, generator=torch.Generator().manual_seed(2))
    joints2d = torch.randn(2, NUM_JOINTS, 2, generator=torch.Generator().manual_seed(3))
    joints3d[0, :3, :2] = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    joints2d[0, :3] = torch.tensor([[0.0, 0.0], [3.0, 0.0], [3.0, 3.0]])
    weight = torch.zeros(2, NUM_JOINTS)
    weight[0, :3] = 1
    weight[1, 5] = 1
    assert reprojection_loss(joints3d, joints2d, weight).item() == pytest.approx(0.5)
    assert reprojection_loss(joints3d[1:], joints2d[1:], weight[1:]).item() == 0.0


def test_gradients_stay_finite_for_degenerate_poses_and_labels():
    joints3d = torch.randn(4, NUM_JOINTS, 3, generator=torch.Generator().manual_seed(4))
    joints3d[1] = 0  # every joint at one point
    joints3d[2, ANKLE] = joints3d[2, KNEE]  # a bone of length 0
    joints3d.requires_grad_()
    weight = torch.ones(4, NUM_JOINTS)
    weight[0] = 0  # nothing labelled
    weight[3, 1:] = 0  # one joint labelled
    joints2d = torch.randn(4, NUM_JOINTS, 2, generator=torch.Generator().manual_seed(5))
    (reprojection_loss(joints3d, joints2d, weight) + prior_penalty(joints3d)).backward()
    assert torch.isfinite(joints3d.grad).all()


def test_the_lifting_head_is_the_pretrainings_lifting_network_on_pooled_c5():
    torch.manual_seed(0)
    head = LiftingHead(64)
    features = torch.randn(3, 64, 2, 2)
    assert head(features).shape == (3, NUM_JOINTS, 3)
    torch.testing.assert_close(head(features), head.lifting(features.mean(dim=(2, 3))))


def _model_and_batch(task_name: str, roots, prior: bool):
    task = build_task(task_name, roots, finetune_profile("smoke"), {**CHANGES[task_name], "prior": prior})
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    data = task.train_set(seed=0)
    items = [data[i] for i in (0, len(data) - 1)]  # a Human3.6M and an MPII person
    batch = {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in items[0]}
    return task, model, batch


@pytest.mark.parametrize("task_name", ["h36m-2d", "h36m-3d"])
def test_prior_false_builds_todays_model_and_prior_true_adds_only_the_lifting_head(task_name, h36m_synth):
    _, plain, _ = _model_and_batch(task_name, h36m_synth, prior=False)
    _, lifted, _ = _model_and_batch(task_name, h36m_synth, prior=True)
    assert not hasattr(plain, "lifting")
    before, after = plain.state_dict(), lifted.state_dict()
    added = set(after) - set(before)
    assert set(before) <= set(after) and added and all(key.startswith("lifting.") for key in added)
    assert all(torch.equal(before[key], after[key]) for key in before)  # built first, from the same seed


@pytest.mark.parametrize("task_name", ["h36m-2d", "h36m-3d"])
def test_the_prior_terms_reach_the_trunk(task_name, h36m_synth):
    grads = {}
    for prior in (False, True):
        task, model, batch = _model_and_batch(task_name, h36m_synth, prior)
        model.train()
        loss, logs = task.loss(model, batch)
        loss.backward()
        grads[prior] = torch.cat([p.grad.flatten() for p in model.trunk.parameters()])
        if prior:
            assert {"loss", "task_loss", "reprojection", "prior"} <= set(logs)
            assert logs["reprojection"] > 0 and logs["prior"] > 0
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.lifting.parameters())
            extra = (
                task.config.reprojection_weight * logs["reprojection"]
                + task.config.prior_weight * logs["prior"]
            )
            torch.testing.assert_close(logs["loss"], logs["task_loss"] + extra)
    assert not torch.equal(grads[False], grads[True])


@pytest.mark.parametrize("task_name", ["h36m-2d", "h36m-3d"])
def test_a_fine_tuning_with_the_prior_runs_and_evaluates(task_name, h36m_synth, tmp_path):
    changes = {**CHANGES[task_name], "prior": True}
    model = train_task(task_name, h36m_synth, "smoke", tmp_path, init=None, max_steps=2, changes=changes)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and all(np.isfinite([line["reprojection"], line["prior"]]).all() for line in log)
    metrics = evaluate_task(task_name, h36m_synth, "smoke", model, tmp_path, changes=changes)
    assert metrics and all(np.isfinite(list(metrics.values())))
