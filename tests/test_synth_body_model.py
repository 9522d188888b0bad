"""SynthHuman's SMPL-format body model: SMPL's file format, smplx loading, skinning and regressors."""

import numpy as np
import pytest
import scipy.sparse
import smplx
import torch
from scipy.spatial.transform import Rotation

from suite.data import smpl
from suite.data.layouts import SMPL_GENDERS, SMPL_J_REGRESSOR_H36M, SMPL_MODEL
from suite.data.safe_pickle import load_pickle
from suite.data.skeleton import JOINTS, bone_lengths
from suite.data.synth.body_model import (
    SMPL_JOINTS,
    VERTEX_IDS,
    body_joints_h36m,
    load_smpl,
    write_body_models,
)
from suite.finetune.pw3d_shape import SMPL_FLIP, flip_pose

# SMPL's kinematic tree, as its kintree_table lists it.
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
L_ELBOW, L_WRIST, L_HAND = 18, 20, 22


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("body_models")
    write_body_models(path, np.random.default_rng(0))
    return path


def read(root, gender: str) -> dict:
    return load_pickle(root / SMPL_MODEL.format(gender=gender), "test")


def test_files_have_smpls_keys_and_shapes(root):
    for gender in SMPL_GENDERS:
        data = read(root, gender)
        vertices = len(data["v_template"])
        assert 300 <= vertices <= 2000
        assert data["shapedirs"].shape == (vertices, 3, 10)
        assert data["posedirs"].shape == (vertices, 3, 207)
        assert scipy.sparse.issparse(data["J_regressor"]) and data["J_regressor"].shape == (24, vertices)
        np.testing.assert_allclose(data["weights"].sum(axis=1), 1.0)
        assert (data["weights"] >= 0).all()
        kintree = data["kintree_table"]
        assert kintree[0, 0] == 4294967295 and kintree[0, 1:].tolist() == SMPL_PARENTS[1:]
        assert kintree[1].tolist() == list(range(24))
        assert data["f"].dtype == np.uint32 and data["f"].max() == vertices - 1
        assert (data["bs_style"], data["bs_type"]) == ("lbs", "lrotmin")
    assert smpl.check(root).endswith("J_regressor_h36m ok")


def test_each_tube_is_closed_and_faces_outward(root):
    data = read(root, "NEUTRAL")
    faces = data["f"].astype(np.int64)
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    assert set(np.unique(edges, axis=0, return_counts=True)[1]) == {2}
    corners = data["v_template"][faces]
    volume = np.einsum("fi,fi->f", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum() / 6
    assert 0.04 < volume < 0.09  # m^3: a person of 40-90 kg at about the density of water


def test_smplx_loads_every_gender_and_regresses_the_t_pose(root):
    heights = {}
    for gender in SMPL_GENDERS:
        data = read(root, gender)
        direct = smplx.SMPL(model_path=str(root / "smpl"), gender=gender.lower(), vertex_ids=VERTEX_IDS)
        model = load_smpl(root, gender.lower())
        expected = data["J_regressor"].toarray() @ data["v_template"]
        np.testing.assert_allclose(expected, data["J"], atol=1e-12)
        for loaded in (direct, model):
            output = loaded()
            np.testing.assert_allclose(output.joints[0, :24].detach().numpy(), expected, atol=1e-6)
            assert output.joints.shape[1] == 24 + len(VERTEX_IDS)
        heights[gender] = np.ptp(data["v_template"][:, 1])
    assert heights["FEMALE"] < heights["NEUTRAL"] < heights["MALE"]
    assert 1.6 < heights["NEUTRAL"] < 1.9
    assert load_smpl(root, "f").gender == "female"
    with pytest.raises(ValueError, match="unknown SMPL gender"):
        load_smpl(root, "x")


def test_the_regressor_follows_the_joints_in_any_pose(root):
    model = load_smpl(root, "male")
    generator = torch.Generator().manual_seed(0)
    output = model(
        betas=torch.randn(4, 10, generator=generator),
        body_pose=0.5 * torch.randn(4, 69, generator=generator),
        global_orient=torch.randn(4, 3, generator=generator),
        transl=torch.randn(4, 3, generator=generator),
    )
    regressed = torch.einsum("jv,nvc->njc", model.J_regressor, output.vertices)
    np.testing.assert_allclose(regressed.detach(), output.joints[:, :24].detach(), atol=1e-5)


def test_a_mirrored_pose_with_the_same_betas_gives_the_mirror_image(root):
    # SPIN's flip keeps the betas and mirrors the pose: exact only where the shape space is symmetric
    model = load_smpl(root, "female")
    generator = torch.Generator().manual_seed(1)
    betas = 2 * torch.randn(4, 10, generator=generator, dtype=torch.float64)
    pose = 0.5 * torch.randn(4, 72, generator=generator, dtype=torch.float64)
    mirrored_pose = torch.from_numpy(np.stack([flip_pose(p) for p in pose.numpy()]))
    model = model.double()

    def joints(pose):
        output = model(betas=betas, global_orient=pose[:, :3], body_pose=pose[:, 3:])
        return output.joints[:, :24].detach().numpy()

    sides = {"l_": "r_", "r_": "l_"}
    twins = [SMPL_JOINTS.index(sides.get(name[:2], name[:2]) + name[2:]) for name in SMPL_JOINTS]
    assert twins == list(SMPL_FLIP)  # SPIN's permutation, as flip_pose uses it, is the joint names' one
    mirrored = joints(pose)[:, twins] * [-1, 1, 1]
    np.testing.assert_allclose(joints(mirrored_pose), mirrored, atol=1e-6)  # float32 files; 6 cm asymmetric


def test_bending_the_elbow_turns_only_the_forearm_and_hand(root):
    model = load_smpl(root, "neutral")
    rest = model().joints[0, :24].detach().numpy()
    angle = np.array([0.0, -np.pi / 2, 0.0])
    body_pose = torch.zeros(1, 69)
    body_pose[0, 3 * (L_ELBOW - 1) : 3 * L_ELBOW] = torch.as_tensor(angle)
    bent = model(body_pose=body_pose).joints[0, :24].detach().numpy()
    turn = Rotation.from_rotvec(angle).as_matrix()
    for joint in (L_WRIST, L_HAND):
        expected = rest[L_ELBOW] + turn @ (rest[joint] - rest[L_ELBOW])
        np.testing.assert_allclose(bent[joint], expected, atol=1e-5)
    forearm = np.linalg.norm(rest[L_WRIST] - rest[L_ELBOW])
    assert bent[L_WRIST, 2] > rest[L_WRIST, 2] + 0.9 * forearm  # forward (+z), as an elbow bends
    others = [j for j in range(24) if j not in (L_WRIST, L_HAND)]
    np.testing.assert_allclose(bent[others], rest[others], atol=1e-6)


def test_the_h36m_regressor_gives_a_plausible_skeleton(root):
    regressor = np.load(root / SMPL_J_REGRESSOR_H36M)
    data = read(root, "NEUTRAL")
    assert regressor.shape == (17, len(data["v_template"])) and (regressor >= 0).all()
    np.testing.assert_allclose(regressor.sum(axis=1), 1.0)
    joints = regressor @ data["v_template"]
    lengths = dict(zip(JOINTS[1:], bone_lengths(joints), strict=True))  # bone k ends at joint k + 1
    for side in ("l_", "r_"):
        assert 0.35 < lengths[side + "knee"] < 0.5  # thigh
        assert 0.35 < lengths[side + "ankle"] < 0.5  # shin
        assert 0.22 < lengths[side + "elbow"] < 0.35  # upper arm
        assert 0.2 < lengths[side + "wrist"] < 0.32  # forearm
        assert 0.08 < lengths[side + "hip"] < 0.15
    assert 0.4 < lengths["spine"] + lengths["thorax"] < 0.6
    np.testing.assert_allclose(joints[JOINTS.index("root")], joints[[1, 4]].mean(axis=0), atol=1e-12)
    model = load_smpl(root, "neutral")
    lift = np.array([[0.0, 1.0, 0.0]])
    posed = body_joints_h36m(model, np.zeros((1, 10)), np.zeros((1, 69)), np.zeros((1, 3)), lift)
    np.testing.assert_allclose(posed[0].detach().numpy(), joints + lift, atol=1e-5)


def test_the_same_seed_writes_the_same_bytes(root, tmp_path):
    write_body_models(tmp_path, np.random.default_rng(0))
    for name in [SMPL_MODEL.format(gender=gender) for gender in SMPL_GENDERS] + [SMPL_J_REGRESSOR_H36M]:
        assert (tmp_path / name).read_bytes() == (root / name).read_bytes()
