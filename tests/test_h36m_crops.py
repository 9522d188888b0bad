"""Table 7's "H36M" pre-training source: Human3.6M person crops of the training subjects only.

Issue 11's acceptance test: no frame of the test subjects (S9, S11) reaches pre-training or fine-tuning
data, even from an annotation file that wrongly holds one. Then the crops' geometry (appendix A's 4:3 box,
256x192, as coco.crop_box), the stride, resuming, the command line, and the plan of Table 7.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from suite.cli import main
from suite.data.coco import CROP_SIZE, crop_box, human_crop
from suite.data.h36m_crops import write_h36m_crops
from suite.data.images import read_image
from suite.data.layouts import (
    H36M_IMAGES,
    H36M_MULTIVIEW_ANNOTATIONS,
    H36M_RLE_ANNOTATIONS,
    H36M_TEST_SUBJECTS,
    H36M_TRAIN_SUBJECTS,
)
from suite.data.pretrain_data import crop_files
from suite.errors import DatasetError, SuiteError
from suite.finetune.run import build_task
from suite.orchestration.plan import H36M_CROPS_STRIDE, make_plan
from suite.profiles import DEMO_RUN, SMOKE_RUN, finetune_profile
from suite.tables import TABLES

SMALL_2D = {"input_size": 64, "heatmap_size": 16, "batch_size": 4, "epochs": 1, "milestones": ()}
TEST_NAMES = tuple(f"s_{subject:02d}_" for subject in H36M_TEST_SUBJECTS)


@pytest.fixture(scope="module")
def poisoned(h36m_synth, tmp_path_factory) -> Path:
    """The same Human3.6M tree whose training files (RLE json, H36M-Toolbox pickle) also hold one test
    frame of S9: the mistake the subject filter must catch."""
    root = tmp_path_factory.mktemp("poisoned") / "h36m"
    (root / "annotations").mkdir(parents=True)
    (root / "annot").mkdir()
    (root / H36M_IMAGES).symlink_to(h36m_synth["h36m"] / H36M_IMAGES)
    rle = {
        split: json.loads((h36m_synth["h36m"] / H36M_RLE_ANNOTATIONS[split]).read_text())
        for split in ("train", "test")
    }
    image, annotation = next(
        (image, annotation)
        for image, annotation in zip(rle["test"]["images"], rle["test"]["annotations"], strict=True)
        if image["subject"] == 9
    )
    new_id = 1 + max(entry["id"] for entry in rle["train"]["images"])
    rle["train"]["images"].append({**image, "id": new_id})
    rle["train"]["annotations"].append({**annotation, "id": new_id, "image_id": new_id})
    (root / H36M_RLE_ANNOTATIONS["train"]).write_text(json.dumps(rle["train"]))
    (root / H36M_RLE_ANNOTATIONS["test"]).write_text(json.dumps(rle["test"]))
    toolbox = {
        split: pickle.loads((h36m_synth["h36m"] / H36M_MULTIVIEW_ANNOTATIONS[split]).read_bytes())
        for split in ("train", "validation")
    }
    # one S9 frame's 4 views first: the first four-view group, whatever h36m-2d's stride
    s9_views = [entry for entry in toolbox["validation"] if entry["subject"] == 9][:4]
    toolbox["train"] = s9_views + toolbox["train"]
    for split, entries in toolbox.items():
        (root / H36M_MULTIVIEW_ANNOTATIONS[split]).write_bytes(pickle.dumps(entries))
    return root


def training_frames(root: Path) -> set[str]:
    """The RLE training file's frames of the training subjects, as paths under images/."""
    data = json.loads((root / H36M_RLE_ANNOTATIONS["train"]).read_text())
    return {image["file_name"] for image in data["images"] if image["subject"] in H36M_TRAIN_SUBJECTS}


# -- issue 11: no test subject in pre-training or fine-tuning data ---------------------------------


def test_crops_are_every_training_frame_and_no_test_frame(h36m_synth, tmp_path):
    index = json.loads(write_h36m_crops(h36m_synth["h36m"], tmp_path).read_text())
    assert index["count"] == len(index["crops"]) == len(training_frames(h36m_synth["h36m"])) == 8
    assert {entry["image"] for entry in index["crops"]} == training_frames(h36m_synth["h36m"])
    assert {entry["subject"] for entry in index["crops"]} <= set(H36M_TRAIN_SUBJECTS)
    assert index["subjects"] == list(H36M_TRAIN_SUBJECTS) and index["stride"] == 1 and index["skipped"] == {}
    files = crop_files(tmp_path)  # what pre-training reads (pretrain_data.pretrain_dataset)
    assert len(files) == 8 and not any(name in str(file) for file in files for name in TEST_NAMES)
    assert all(read_image(file).shape == (*CROP_SIZE, 3) for file in files)


def test_a_test_frame_in_the_training_file_is_left_out_of_the_crops(h36m_synth, poisoned, tmp_path):
    index = json.loads(write_h36m_crops(poisoned, tmp_path).read_text())
    assert {entry["subject"] for entry in index["crops"]} <= set(H36M_TRAIN_SUBJECTS)
    assert {entry["image"] for entry in index["crops"]} == training_frames(h36m_synth["h36m"])
    assert index["skipped"] == {"subject S9, not a training subject": 1}
    written = [path for path in (tmp_path / "crops").rglob("*") if path.is_file()]
    assert len(written) == 8 and not any(name in str(path) for path in written for name in TEST_NAMES)


def test_test_subjects_cannot_be_asked_for(h36m_synth, tmp_path):
    with pytest.raises(SuiteError, match="S9 test subject"):
        write_h36m_crops(h36m_synth["h36m"], tmp_path, subjects=(1, 9))
    with pytest.raises(SuiteError, match="stride 0"):
        write_h36m_crops(h36m_synth["h36m"], tmp_path, stride=0)
    assert not tmp_path.joinpath("index.json").exists()


def test_h36m_2d_training_holds_no_test_frame_and_refuses_a_file_that_does(h36m_synth, poisoned):
    data = build_task("h36m-2d", h36m_synth, finetune_profile("smoke"), SMALL_2D).train_set(seed=0)
    h36m_images = [str(person.image) for person in data.persons if "h36m" in str(person.image)]
    assert h36m_images and not any(name in image for image in h36m_images for name in TEST_NAMES)
    leaky = build_task("h36m-2d", {**h36m_synth, "h36m": poisoned}, finetune_profile("smoke"), SMALL_2D)
    with pytest.raises(DatasetError, match="test subjects"):
        leaky.train_set(seed=0)


def test_h36m_3d_training_holds_no_test_frame(h36m_synth):
    data = build_task("h36m-3d", h36m_synth, finetune_profile("demo"), {"input_size": 32}).train_set(seed=0)
    images = [str(person.image) for person in data.h36m]
    assert len(images) == 8 and not any(name in image for image in images for name in TEST_NAMES)


def test_h36m_3d_training_refuses_a_training_file_with_a_test_frame(h36m_synth, poisoned):
    data = build_task(
        "h36m-3d", {**h36m_synth, "h36m": poisoned}, finetune_profile("demo"), {"input_size": 32}
    )
    with pytest.raises(DatasetError, match="test subjects") as error:
        data.train_set(seed=0)
    assert "Human36M_protocol_2.json" in str(error.value.path)


# -- the crops: geometry, stride, resuming, the command line ----------------------------------------


def test_crop_box_is_the_person_box_grown_to_4_by_3_by_hand():
    # a tall box (h/w 2 > 4/3): the width grows to 60 * 3/4 = 45 about the centre x = 25
    assert crop_box((10.0, 20.0, 30.0, 60.0)) == (2.5, 20.0, 45.0, 60.0)
    # a wide box (h/w 0.5): the height grows to 40 * 4/3 about the centre y = 15
    assert crop_box((0.0, 5.0, 40.0, 20.0)) == pytest.approx((0.0, 15 - 80 / 3, 40.0, 160 / 3))


def test_a_crop_is_its_frames_box_grown_to_4_by_3_and_resized_to_256_by_192(h36m_synth, tmp_path):
    index = json.loads(write_h36m_crops(h36m_synth["h36m"], tmp_path).read_text())
    entry = index["crops"][0]
    x, y, w, h = entry["bbox"]
    rle = json.loads((h36m_synth["h36m"] / H36M_RLE_ANNOTATIONS["train"]).read_text())
    assert entry["bbox"] == rle["annotations"][0]["bbox"]
    # by hand: the short side grows about the centre until height / width = 256 / 192 = 4 / 3
    side_w, side_h = (h * 3 / 4, h) if h > w * 4 / 3 else (w, w * 4 / 3)
    by_hand = (x + (w - side_w) / 2, y + (h - side_h) / 2, side_w, side_h)
    assert entry["crop_box"] == pytest.approx(by_hand) == crop_box((x, y, w, h))
    crop = read_image(tmp_path / entry["file"])
    expected = human_crop(read_image(h36m_synth["h36m"] / H36M_IMAGES / entry["image"]), (x, y, w, h))
    assert crop.shape == expected.shape == (256, 192, 3)
    assert np.abs(crop.astype(float) - expected).mean() < 3  # JPEG


def test_stride_and_resuming(h36m_synth, tmp_path):
    every = json.loads(write_h36m_crops(h36m_synth["h36m"], tmp_path / "all").read_text())["crops"]
    second = json.loads(write_h36m_crops(h36m_synth["h36m"], tmp_path / "half", stride=2).read_text())
    assert second["crops"] == every[::2] and second["skipped"] == {"stride 2": 4}
    first = tmp_path / "all" / every[0]["file"]
    first.write_bytes(b"kept")  # a crop already there is whole (written atomically) and kept
    (tmp_path / "all" / "index.json").unlink()
    write_h36m_crops(h36m_synth["h36m"], tmp_path / "all")
    assert first.read_bytes() == b"kept" and (tmp_path / "all" / "index.json").is_file()


def test_data_crops_h36m_command(h36m_synth, tmp_path, capsys):
    out = tmp_path / "crops"
    assert main(["data", "crops", "--h36m", str(h36m_synth["h36m"]), "--out", str(out), "--stride", "4"]) == 0
    assert json.loads((out / "index.json").read_text())["count"] == 2
    assert main(["data", "crops", "--h36m", str(h36m_synth["h36m"]), "--out", str(out), "--all-persons"]) == 2
    assert main(["data", "crops", "--coco", str(h36m_synth["h36m"]), "--out", str(out), "--stride", "2"]) == 2
    assert "--stride subsamples Human3.6M" in capsys.readouterr().err


# -- the plan ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", [DEMO_RUN, SMOKE_RUN], ids=["demo", "smoke"])
def test_table7_plans_the_h36m_crops_and_pre_trainings(profile, tmp_path):
    plan = make_plan(TABLES[7], profile, tmp_path)
    assert not plan.unavailable
    crops = [run for run in plan.runs.values() if run.kind == "h36m-crops"]
    assert len(crops) == 1
    (crops,) = crops
    assert crops.spec["subjects"] == list(H36M_TRAIN_SUBJECTS) and crops.spec["stride"] == H36M_CROPS_STRIDE
    assert crops.inputs["h36m"].endswith("h36m") and [plan.runs[key].kind for key in crops.needs] == ["synth"]
    for label, method in ((("MoCo-v2", "H36M", "200"), "moco-v2"), (("Ours", "H36M", "200"), "liftedcl")):
        (pretrain,) = [plan.runs[key] for key in plan.row_runs[label] if plan.runs[key].kind == "pretrain"]
        assert (pretrain.kind, pretrain.spec["method"], pretrain.spec["source"]) == (
            "pretrain",
            method,
            "H36M",
        )
        assert pretrain.needs == (crops.key,) and pretrain.inputs["data"] == str(crops.output(tmp_path))


def test_the_h36m_crops_key_follows_the_data_the_subjects_and_the_stride(tmp_path, monkeypatch):
    from suite.orchestration import plan as planning

    def crops_key(profile=DEMO_RUN) -> str:
        plan = make_plan(TABLES[7], profile, tmp_path)
        return next(key for key, run in plan.runs.items() if run.kind == "h36m-crops")

    keys = [crops_key()]
    other_data = dataclasses.replace(
        DEMO_RUN, synth=dataclasses.replace(DEMO_RUN.synth, n=DEMO_RUN.synth.n + 1)
    )
    keys.append(crops_key(other_data))
    monkeypatch.setattr(planning, "H36M_TRAIN_SUBJECTS", (1, 5, 6, 7))
    keys.append(crops_key())
    monkeypatch.setattr(planning, "H36M_CROPS_STRIDE", 5)
    keys.append(crops_key())
    assert len(set(keys)) == 4
