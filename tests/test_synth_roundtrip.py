"""SynthHuman read back through the real-dataset readers: every file kind agrees with the others."""

import json
from pathlib import Path

import numpy as np
import pytest

from suite.cli import main
from suite.data import coco, generic, h36m, lip, mpii, pw3d
from suite.data.images import read_image
from suite.data.layouts import LIP_CLASSES, SYNTH_FOLDERS
from suite.data.skeleton import MPII_JOINTS
from suite.data.synth import generate


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate(root, n=8, seed=0)
    return root


def test_data_check_reports_every_synthetic_dataset_valid(synth, capsys):
    assert main(["data", "check", "--root", str(synth)]) == 0
    rows = [line.split("|")[1:3] for line in capsys.readouterr().out.splitlines()[2:]]
    status = {name.strip(): state.strip() for name, state in rows}
    assert status == dict.fromkeys(SYNTH_FOLDERS, "valid")


def test_h36m_layouts_agree_projection_of_world_joints_is_the_2d_annotation(synth):
    """RLE gives 3D world joints + cameras; the multiview pickle gives 2D. Reprojection must match."""
    root = synth / SYNTH_FOLDERS["h36m"]
    for rle_split, multiview_split in (("train", "train"), ("test", "validation")):
        rle = {sample.image: sample for sample in h36m.read_rle(root, rle_split).samples}
        multiview = {sample.image: sample for sample in h36m.read_multiview(root, multiview_split)}
        assert rle and rle.keys() == multiview.keys()
        for image, sample in rle.items():
            other = multiview[image]
            # independent projection: x_cam = R (X - t), u = x / z * f + c
            cam = (sample.joints_world - sample.camera.t) @ sample.camera.R.T
            uv = cam[:, :2] / cam[:, 2:] * sample.camera.f + sample.camera.c
            np.testing.assert_allclose(uv, other.joints_2d, atol=1e-6)
            np.testing.assert_allclose(sample.joints_img[:, :2], other.joints_2d, atol=1e-6)
            np.testing.assert_allclose(sample.joints_cam, other.joints_3d_camera, atol=1e-6)
            np.testing.assert_allclose(sample.joints_img[:, 2], cam[:, 2] - cam[0, 2], atol=1e-6)
            assert (sample.subject in (9, 11)) == (rle_split == "test")


def test_coco_keypoints_lie_in_their_boxes_and_detections_cover_every_person(synth):
    root = synth / SYNTH_FOLDERS["coco"]
    detections = coco.read_detections(coco.detections_file(root))
    for split in ("train2017", "val2017"):
        data = coco.read_split(root, split)
        assert data.persons
        for person in data.persons:
            image = data.images[person.image_id]
            x, y, w, h = person.bbox
            labelled = person.keypoints[person.keypoints[:, 2] > 0]
            assert len(labelled) == person.num_keypoints
            visible = person.keypoints[person.keypoints[:, 2] == 2, :2]
            assert np.all((visible >= [x - 1, y - 1]) & (visible <= [x + w + 1, y + h + 1]))
            assert np.all((labelled[:, :2] >= -0.5) & (labelled[:, :2] <= [image.width, image.height]))
            assert np.all(person.keypoints[person.keypoints[:, 2] == 0, :2] == 0)
    for person in coco.read_split(root, "val2017").persons:
        ious = [_iou(person.bbox, d.bbox) for d in detections if d.image_id == person.image_id]
        assert max(ious) > 0.5


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def test_mpii_json_and_matlab_ground_truth_agree_and_head_boxes_hold_the_head_top(synth):
    root = synth / SYNTH_FOLDERS["mpii"]
    valid = mpii.read_annotations(root / "annot/valid.json", root / "images")
    truth = mpii.read_ground_truth(root / "annot/gt_valid.mat")
    assert len(valid) == len(truth) > 0
    head_top = MPII_JOINTS.index("head_top")
    for n, person in enumerate(valid):
        seen = person.joints_vis > 0
        np.testing.assert_array_equal(seen, truth.jnt_missing[:, n] == 0)
        np.testing.assert_allclose(person.joints[seen], truth.pos_gt_src[seen, :, n], atol=1e-6)
        if seen[head_top]:
            (x1, y1), (x2, y2) = truth.headboxes_src[:, :, n]
            hx, hy = person.joints[head_top]
            assert min(x1, x2) - 1 <= hx <= max(x1, x2) + 1 and min(y1, y2) - 1 <= hy <= max(y1, y2) + 1
    assert np.all(truth.head_sizes() > 0)


def test_lip_label_maps_cover_the_figure(synth):
    root = synth / SYNTH_FOLDERS["lip"]
    for split in ("train", "val"):
        samples = lip.read_split(root, split).samples
        assert samples
        for sample in samples:
            image, labels = lip.read_sample(sample)
            assert image.shape[:2] == labels.shape
            assert labels.max() < len(LIP_CLASSES)
            body = labels > 0
            assert body.mean() > 0.1  # the crop is of the person
            # a figure has a head (face or hair) and limbs
            present = {LIP_CLASSES[i] for i in np.unique(labels)}
            assert present & {"Face", "Hair"} and present & {"Left-arm", "Right-arm", "Left-leg", "Right-leg"}
            # the crop is centred on its person: the labelled region spans the middle row and column
            assert body[labels.shape[0] // 2].any() or body[:, labels.shape[1] // 2].any()


def test_generic_set_has_every_class_in_both_splits(synth):
    root = synth / SYNTH_FOLDERS["generic"]
    train, val = generic.read_split(root, "train"), generic.read_split(root, "val")
    assert train.classes == val.classes and len(train.classes) >= 2
    assert {label for _, label in train.samples} == set(range(len(train.classes)))
    assert {label for _, label in val.samples} == set(range(len(val.classes)))


# OpenPose-18 slot -> SMPL joint, where the two are the same point: shoulders, elbows, wrists, knees, ankles.
OPENPOSE_TO_SMPL = {2: 17, 3: 19, 4: 21, 5: 16, 6: 18, 7: 20, 9: 5, 10: 8, 12: 4, 13: 7}


def test_3dpw_joint_positions_project_onto_the_2d_annotations(synth):
    root = synth / SYNTH_FOLDERS["pw3d"]
    for split in ("train", "validation", "test"):
        sequences = pw3d.read_split(root, split)
        assert sequences
        for sequence in sequences:
            k = sequence.cam_intrinsics
            for person in sequence.people:
                world = person.joint_positions.reshape(-1, 24, 3)
                homogeneous = np.concatenate([world, np.ones((*world.shape[:2], 1))], axis=-1)
                camera = np.einsum("fij,fkj->fki", sequence.cam_poses, homogeneous)[..., :3]
                uv = camera[..., :2] / camera[..., 2:] * [k[0, 0], k[1, 1]] + [k[0, 2], k[1, 2]]
                slots, joints = list(OPENPOSE_TO_SMPL), list(OPENPOSE_TO_SMPL.values())
                seen = person.poses2d[:, 2, slots] > 0
                assert seen.any()
                annotated = person.poses2d[:, :2, slots].transpose(0, 2, 1)
                np.testing.assert_allclose(annotated[seen], uv[:, joints][seen], atol=0.01)


def test_3dpw_spin_preprocessing_boxes_hold_the_visible_joints(synth):
    root = synth / SYNTH_FOLDERS["pw3d"]
    samples = pw3d.spin_samples(root, "test")
    assert samples.samples
    by_sequence = {sequence.name: sequence for sequence in pw3d.read_split(root, "test")}
    for sample in samples.samples:
        assert sample.image.is_file()
        poses2d = by_sequence[sample.sequence].people[sample.person].poses2d[sample.frame]
        visible = poses2d[:2, poses2d[2] > 0].T
        half = sample.scale * 200 / 2
        assert np.all(np.abs(visible - sample.center) <= half + 1e-6)


def test_crops_verb_writes_one_crop_per_person_with_keypoints_or_all_persons(synth, tmp_path):
    root = synth / SYNTH_FOLDERS["coco"]
    persons = coco.read_split(root, "train2017").persons
    for flags, expected in (
        ([], sum(p.num_keypoints > 0 for p in persons)),
        (["--all-persons"], len(persons)),
    ):
        out = tmp_path / "-".join(["crops", *flags])
        assert main(["data", "crops", "--coco", str(root), "--out", str(out), *flags]) == 0
        index = json.loads((out / "index.json").read_text())
        assert len(index["crops"]) == expected == len(list((out / "crops").glob("*.jpg")))
        crop = read_image(out / index["crops"][0]["file"])
        assert crop.shape == (*coco.CROP_SIZE, 3)  # (height, width) of appendix A
