"""SynthHuman 3DPW: the official keys, SMPL consistency, projections and determinism."""

import numpy as np
import pytest
import torch

from suite.data import pw3d
from suite.data.layouts import PW3D_SEQUENCES, PW3D_SPLITS
from suite.data.safe_pickle import load_pickle
from suite.data.synth import body_model
from suite.data.synth import pw3d as synth_pw3d

N = 4
KEYS = {
    "sequence", "betas", "betas_clothed", "v_template_clothed", "genders", "texture_maps", "poses",
    "poses_60Hz", "trans", "trans_60Hz", "poses2d", "jointPositions", "cam_poses", "cam_intrinsics",
    "img_frame_ids", "campose_valid",
}  # fmt: skip
# OpenPose keypoint (poses2d column) -> SMPL joint at the same place: shoulders, elbows, wrists,
# knees and ankles, right then left.
OPENPOSE_TO_SMPL = {2: 17, 3: 19, 4: 21, 5: 16, 6: 18, 7: 20, 9: 5, 10: 8, 12: 4, 13: 7}


@pytest.fixture(scope="module")
def body_models(tmp_path_factory):
    path = tmp_path_factory.mktemp("body_models")
    body_model.write_body_models(path, np.random.default_rng(0))
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory, body_models):
    path = tmp_path_factory.mktemp("3dpw")
    synth_pw3d.write(path, N, np.random.default_rng(0), body_models)
    return path


def sequences(root):
    return [
        (path, load_pickle(path, "test"))
        for split in PW3D_SPLITS
        for path in sorted((root / PW3D_SEQUENCES.format(split=split)).glob("*.pkl"))
    ]


def test_sequences_have_3dpws_keys_and_read_back(root, body_models):
    assert pw3d.check(root).startswith("train 2 sequences, 4 frames, validation 2 sequences, 4 frames")
    names = set()
    vertices = len(body_model.load_smpl(body_models, "neutral").v_template)
    for path, data in sequences(root):
        assert set(data) == KEYS and data["sequence"] == path.stem
        names.add(data["sequence"])
        frames = len(data["cam_poses"])
        for person in range(len(data["poses"])):
            assert data["betas"][person].shape == data["betas_clothed"][person].shape == (10,)
            assert data["v_template_clothed"][person].shape == (vertices, 3)
            assert data["poses_60Hz"][person].shape == (2 * frames, 72)
            np.testing.assert_array_equal(data["poses_60Hz"][person][::2], data["poses"][person])
            np.testing.assert_array_equal(data["trans_60Hz"][person][::2], data["trans"][person])
            assert data["genders"][person] in ("m", "f") and data["texture_maps"][person] is None
        np.testing.assert_array_equal(data["img_frame_ids"], np.arange(frames))
    assert len(names) == len(sequences(root))  # imageFiles/<sequence> is shared by the splits


def test_joint_positions_are_the_smpl_forward_standing_on_the_floor(root, body_models):
    for _, data in sequences(root):
        for betas, gender, poses, trans, joints in zip(
            data["betas"], data["genders"], data["poses"], data["trans"], data["jointPositions"], strict=True
        ):
            model = body_model.load_smpl(body_models, gender)
            output = model(
                betas=torch.as_tensor(betas[None], dtype=torch.float32),
                body_pose=torch.as_tensor(poses[:, 3:], dtype=torch.float32),
                global_orient=torch.as_tensor(poses[:, :3], dtype=torch.float32),
                transl=torch.as_tensor(trans, dtype=torch.float32),
            )
            expected = output.joints[:, :24].detach().numpy().reshape(len(poses), 72)
            np.testing.assert_allclose(joints, expected, atol=1e-5)
            np.testing.assert_allclose(output.vertices[..., 1].amin(dim=1).detach(), 0.0, atol=1e-5)


def test_poses2d_are_the_projected_joints_where_seen(root):
    width, height = synth_pw3d.SIZE
    seen_somewhere = 0
    for _, data in sequences(root):
        rotation, translation = data["cam_poses"][:, :3, :3], data["cam_poses"][:, :3, 3]
        for joints, keypoints in zip(data["jointPositions"], data["poses2d"], strict=True):
            camera = np.einsum("fij,fkj->fki", rotation, joints.reshape(-1, 24, 3)) + translation[:, None]
            assert (camera[..., 2] > 1.0).all()
            pixels = camera @ data["cam_intrinsics"].T
            pixels = pixels[..., :2] / pixels[..., 2:]
            x, y, confidence = keypoints.transpose(1, 0, 2)
            seen = confidence > 0
            assert ((x[seen] >= -0.5) & (x[seen] < width) & (y[seen] >= -0.5) & (y[seen] < height)).all()
            assert (x[~seen] == 0).all() and (y[~seen] == 0).all()
            for column, joint in OPENPOSE_TO_SMPL.items():
                shown = seen[:, column]
                seen_somewhere += shown.sum()
                np.testing.assert_allclose(x[shown, column], pixels[shown, joint, 0], atol=1e-2)
                np.testing.assert_allclose(y[shown, column], pixels[shown, joint, 1], atol=1e-2)
    assert seen_somewhere > 0


def test_spins_camera_frame_pose_turns_the_world_body_into_the_camera(root, body_models):
    samples = pw3d.spin_samples(root, "test").samples
    assert samples
    data = {path.stem: sequence for path, sequence in sequences(root)}
    for sample in samples:
        sequence = data[sample.sequence]
        world = sequence["jointPositions"][sample.person][sample.frame].reshape(24, 3)
        rotation = sequence["cam_poses"][sample.frame, :3, :3]
        expected = (world - world[0]) @ rotation.T
        model = body_model.load_smpl(body_models, sample.gender)
        joints = model(
            betas=torch.as_tensor(sample.betas[None], dtype=torch.float32),
            body_pose=torch.as_tensor(sample.pose[None, 3:], dtype=torch.float32),
            global_orient=torch.as_tensor(sample.pose[None, :3], dtype=torch.float32),
        ).joints[0, :24]
        np.testing.assert_allclose((joints - joints[0]).detach().numpy(), expected, atol=1e-5)


def test_the_same_seed_writes_the_same_bytes(root, body_models, tmp_path):
    synth_pw3d.write(tmp_path, N, np.random.default_rng(0), body_models)
    files = sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    for name in files:
        assert (tmp_path / name).read_bytes() == (root / name).read_bytes(), name
