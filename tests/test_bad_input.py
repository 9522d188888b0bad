"""A corpus of malformed files, each run through a command-line verb: one clean error, nothing left behind.

Every case corrupts a copy of a good base (a SynthHuman tree, the real samples in ../shared/fixtures, a
ResNet-18 checkpoint saved here) and runs one verb in-process through suite.cli.main. The verb must
return 2 and print one "error:" line that names the bad file, then a "  fix:" line; an exception that
escapes main fails the test (it would be a traceback), and so does any output file the verb leaves. Each
good base is run through the same verbs first and must succeed, so a case fails because of its corruption.
"""

from __future__ import annotations

import importlib
import json
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from suite.cli import main
from suite.data.layouts import DATASETS, SYNTH_FOLDERS

# --- what a case is ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bases:
    """The good inputs a case corrupts a copy of."""

    synth: Path  # a SynthHuman tree (read-only)
    checkpoint: Path  # a torchvision ResNet-18 state dict (read-only)
    fixtures: Callable[[], Path]  # ../shared/fixtures; skips the case without it


@dataclass(frozen=True)
class Run:
    argv: list[str]
    named: Path  # the file the error must name
    outputs: tuple[Path, ...] = ()  # what the verb would write: none of it may exist afterwards
    env: dict[str, str] = field(default_factory=dict)
    forbid: tuple[str, ...] = ()  # "module:function"s the verb must not reach (it would submit jobs)


@dataclass(frozen=True)
class Case:
    verb: str
    bad: str
    make: Callable[[Bases, Path], Run]  # (bases, an empty folder) -> the command to run
    says: tuple[str, ...] = ()  # words the error or its fix must hold
    never: tuple[str, ...] = ()  # words they must not hold

    @property
    def id(self) -> str:
        return f"{self.verb}:{self.bad}"


# --- corruptions: each changes one file in place ----------------------------------------------------

Corrupt = Callable[[Path], None]


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def text(path: Path) -> None:
    path.write_text("this is a text file, not what its name says\n")


def removed(path: Path) -> None:
    path.unlink()


def cut_short(path: Path) -> None:
    content = path.read_text()
    path.write_text(content[: int(len(content) * 0.6)])


def edit_json(change: Callable[[object], None]) -> Corrupt:
    def corrupt(path: Path) -> None:
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))  # NaN written as the NaN token, as Python's json does

    return corrupt


def edit_pickle(change: Callable[[object], None]) -> Corrupt:
    def corrupt(path: Path) -> None:
        with path.open("rb") as handle:
            data = pickle.load(handle, encoding="latin1")
        change(data)
        path.write_bytes(pickle.dumps(data, protocol=2))

    return corrupt


def rgb_png(path: Path) -> None:
    label = np.asarray(Image.open(path))
    Image.fromarray(np.stack([label] * 3, axis=-1)).save(path, format="PNG")


def npy(path: Path, array: np.ndarray) -> None:
    np.save(path, array, allow_pickle=True)
    if path.suffix != ".npy":  # np.save appends .npy to other names
        path.with_name(path.name + ".npy").replace(path)


def replaced_by(array: np.ndarray) -> Corrupt:
    return lambda path: npy(path, array)


def with_nan(array: np.ndarray, index: tuple = (0,)) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array[index] = np.nan
    return array


NAN = float("nan")
DELETE = object()  # an edit's value that removes the key


def edit(key, value=DELETE) -> Callable[[object], None]:
    """data[key] = value, or del data[key]."""

    def change(data) -> None:
        if value is DELETE:
            del data[key]
        else:
            data[key] = value

    return change


def in_first(container: str | None, key, value=DELETE) -> Callable[[object], None]:
    """The edit of key in the first entry of data[container] (of data itself, a list, with None)."""
    return lambda data: edit(key, value)((data if container is None else data[container])[0])


def json_edit(container: str | None, key, value=DELETE) -> Corrupt:
    return edit_json(in_first(container, key, value))


def pickle_edit(container: str | None, key, value=DELETE) -> Corrupt:
    return edit_pickle(in_first(container, key, value))


def sequence_edit(key: str, value) -> Corrupt:
    """A 3DPW sequence file whose first person's `key` is value (its fields are lists over persons)."""
    return edit_pickle(lambda data: data[key].__setitem__(0, value))


def dangling_image_id(data) -> None:
    data["annotations"][0]["image_id"] = 987654321


def as_text(path: Path) -> None:
    """The same .npy array, its numbers stored as strings."""
    npy(path, np.load(path).astype(str))


# --- `data check`: every dataset reader, on a copy of one dataset of SynthHuman -------------------


def one_dataset(bases: Bases, tmp: Path, name: str, source: Path | None = None) -> Path:
    """A copy of one dataset under tmp, configured as the only root in tmp/suite.toml (the working folder)."""
    root = tmp / SYNTH_FOLDERS[name]
    shutil.copytree(source or bases.synth / SYNTH_FOLDERS[name], root)
    (tmp / "suite.toml").write_text(f'[datasets]\n{name} = "{root.name}"\n')
    return root


def pick(root: Path, pattern: str) -> Path:
    """The first file matching pattern under root (sorted), so a case picks the same file every time."""
    matches = sorted(root.glob(pattern))
    assert matches, f"{pattern} matches nothing under {root}"
    return matches[0]


def check(name: str, pattern: str, corrupt: Corrupt, named: str | None = None):
    """data check of dataset `name` whose file `pattern` is corrupted; the error names `named` (default
    that file)."""

    def make(bases: Bases, tmp: Path) -> Run:
        root = one_dataset(bases, tmp, name)
        target = pick(root, pattern)
        corrupt(target)
        return Run(["data", "check"], target if named is None else root / named)

    return make


COCO_VAL = "annotations/person_keypoints_val2017.json"
COCO_DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"
H36M_RLE_TEST = "annotations/Sample_64_test_Human36M_protocol_2.json"
H36M_MULTIVIEW = "annot/h36m_validation.pkl"
PW3D_SEQUENCE = "sequenceFiles/test/*.pkl"
SMPL_NEUTRAL = "smpl/SMPL_NEUTRAL.pkl"
J_REGRESSOR = "J_regressor_h36m.npy"


CHECK_TABLE = [
    # (dataset, what is wrong, the file corrupted (a glob: the first match), the corruption)
    ("coco", "truncated-jpeg", "images/val2017/*.jpg", truncated),
    ("coco", "empty-jpeg", "images/val2017/*.jpg", emptied),
    ("coco", "text-named-jpeg", "images/train2017/*.jpg", text),
    ("coco", "image-not-found", "images/val2017/*.jpg", removed),
    ("coco", "json-cut-short", COCO_VAL, cut_short),
    ("coco", "json-empty", COCO_VAL, emptied),
    ("coco", "no-annotations-key", COCO_VAL, edit_json(edit("annotations"))),
    ("coco", "dangling-image-id", COCO_VAL, edit_json(dangling_image_id)),
    ("coco", "keypoints-wrong-length", COCO_VAL, json_edit("annotations", "keypoints", [1, 2, 2] * 16)),
    ("coco", "nan-keypoint", COCO_VAL, json_edit("annotations", "keypoints", [NAN] * 51)),
    ("coco", "nan-bbox", COCO_VAL, json_edit("annotations", "bbox", [NAN] * 4)),
    ("coco", "images-not-a-list", COCO_VAL, edit_json(edit("images", {"id": 1}))),
    ("coco", "image-width-null", COCO_VAL, json_edit("images", "width", None)),
    ("coco", "image-id-text", COCO_VAL, json_edit("images", "id", "abc")),
    ("coco", "image-id-list", COCO_VAL, json_edit("annotations", "image_id", [1])),
    ("coco", "area-text", COCO_VAL, json_edit("annotations", "area", "big")),
    ("coco", "detections-cut-short", COCO_DETECTIONS, cut_short),
    ("coco", "detections-score-text", COCO_DETECTIONS, json_edit(None, "score", "high")),
    ("coco", "detections-nan-score", COCO_DETECTIONS, json_edit(None, "score", NAN)),
    ("mpii", "json-cut-short", "annot/valid.json", cut_short),
    ("mpii", "no-joints-key", "annot/valid.json", json_edit(None, "joints")),
    ("mpii", "15-joints", "annot/train.json", json_edit(None, "joints", [[1.0, 2.0]] * 15)),
    ("mpii", "nan-joint", "annot/train.json", json_edit(None, "joints", [[NAN, 2.0]] * 16)),
    ("mpii", "scale-text", "annot/valid.json", json_edit(None, "scale", "big")),
    ("mpii", "not-a-list", "annot/train.json", lambda path: path.write_text('{"image": "a.jpg"}')),
    ("mpii", "gt-mat-truncated", "annot/gt_valid.mat", truncated),
    ("mpii", "gt-mat-text", "annot/gt_valid.mat", text),
    ("mpii", "truncated-jpeg", "images/*.jpg", truncated),
    ("h36m", "rle-json-cut-short", H36M_RLE_TEST, cut_short),
    ("h36m", "rle-no-annotations-key", H36M_RLE_TEST, edit_json(edit("annotations"))),
    ("h36m", "rle-dangling-image-id", H36M_RLE_TEST, edit_json(dangling_image_id)),
    (
        "h36m",
        "rle-16-world-joints",
        H36M_RLE_TEST,
        json_edit("annotations", "keypoints_world", [[0, 0, 0]] * 16),
    ),
    (
        "h36m",
        "rle-nan-world-joint",
        H36M_RLE_TEST,
        json_edit("annotations", "keypoints_world", [[NAN, 0, 0]] * 17),
    ),
    ("h36m", "rle-images-not-a-list", H36M_RLE_TEST, edit_json(edit("images", 3))),
    ("h36m", "rle-width-text", H36M_RLE_TEST, json_edit("images", "width", "wide")),
    ("h36m", "rle-no-cam-param", H36M_RLE_TEST, json_edit("images", "cam_param")),
    ("h36m", "multiview-pickle-truncated", H36M_MULTIVIEW, truncated),
    ("h36m", "multiview-pickle-text", H36M_MULTIVIEW, text),
    ("h36m", "multiview-pickle-empty", H36M_MULTIVIEW, emptied),
    (
        "h36m",
        "multiview-joints-2d-wrong-shape",
        H36M_MULTIVIEW,
        pickle_edit(None, "joints_2d", np.zeros((16, 2))),
    ),
    (
        "h36m",
        "multiview-nan-joints-2d",
        H36M_MULTIVIEW,
        pickle_edit(None, "joints_2d", with_nan(np.zeros((17, 2)))),
    ),
    ("h36m", "multiview-subject-text", H36M_MULTIVIEW, pickle_edit(None, "subject", "S9")),
    ("h36m", "text-named-jpeg", "images/*/*.jpg", text),
    ("pw3d", "pickle-truncated", PW3D_SEQUENCE, truncated),
    ("pw3d", "pickle-text", PW3D_SEQUENCE, text),
    ("pw3d", "no-poses-key", PW3D_SEQUENCE, edit_pickle(edit("poses"))),
    ("pw3d", "poses-wrong-shape", PW3D_SEQUENCE, sequence_edit("poses", np.zeros((2, 70)))),
    ("pw3d", "nan-pose", PW3D_SEQUENCE, sequence_edit("poses", with_nan(np.zeros((2, 72))))),
    ("pw3d", "poses-strings", PW3D_SEQUENCE, sequence_edit("poses", np.full((2, 72), "x"))),
    ("pw3d", "empty-jpeg", "imageFiles/*/*.jpg", emptied),
    ("lip", "truncated-jpeg", "val_images/*.jpg", truncated),
    ("lip", "text-named-png", "val_segmentations/*.png", text),
    ("lip", "rgb-label-map", "train_segmentations/*.png", rgb_png),
    ("lip", "dangling-id", "val_segmentations/*.png", removed),
    ("generic", "truncated-jpeg", "train/*/*.jpg", truncated),  # a check decodes a spread: the first,
    ("generic", "text-named-jpeg", "val/triangles/*.jpg", text),  # the last and 6 between
    ("generic", "empty-jpeg", "train/*/*.jpg", emptied),
    ("smpl", "pickle-truncated", SMPL_NEUTRAL, truncated),
    ("smpl", "pickle-text", SMPL_NEUTRAL, text),
    ("smpl", "no-weights-key", SMPL_NEUTRAL, edit_pickle(edit("weights"))),
    (
        "smpl",
        "nan-template",
        SMPL_NEUTRAL,
        edit_pickle(lambda data: data["v_template"].__setitem__((0, 0), NAN)),
    ),
    ("smpl", "regressor-wrong-shape", J_REGRESSOR, replaced_by(np.zeros((16, 5)))),
    ("smpl", "regressor-text", J_REGRESSOR, text),
    ("smpl", "regressor-strings", J_REGRESSOR, as_text),
]
CHECK_CASES = [
    *(
        Case(f"check-{name}", bad, check(name, pattern, corrupt))
        for name, bad, pattern, corrupt in CHECK_TABLE
    ),
    # a missing folder: the error names the root that lacks it
    Case("check-lip", "no-images-folder", check("lip", "train_images", shutil.rmtree, named="")),
]


# --- `data check` on the real COCO samples ---------------------------------------------------------


def real_coco(bases: Bases, tmp: Path) -> Path:
    """The four real COCO images and their annotations in the layout data check reads (both splits)."""
    folder = bases.fixtures() / "mmpose/tests/data/coco"
    staged = tmp / "staged"
    for split in ("train2017", "val2017"):
        (staged / "annotations").mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / "test_coco.json", staged / f"annotations/person_keypoints_{split}.json")
        (staged / "images" / split).mkdir(parents=True)
        for image in folder.glob("*.jpg"):
            shutil.copy(image, staged / "images" / split / image.name)
    detections = staged / COCO_DETECTIONS
    detections.parent.mkdir(parents=True)
    shutil.copy(folder / "test_coco_det_AP_H_56.json", detections)
    root = one_dataset(bases, tmp, "coco", source=staged)
    shutil.rmtree(staged)
    return root


def check_real_coco(pattern: str, corrupt: Corrupt):
    def make(bases: Bases, tmp: Path) -> Run:
        target = pick(real_coco(bases, tmp), pattern)
        corrupt(target)
        return Run(["data", "check"], target)

    return make


REAL_COCO_CASES = [
    Case("check-real-coco", "truncated-jpeg", check_real_coco("images/val2017/*.jpg", truncated)),
    Case("check-real-coco", "text-named-jpeg", check_real_coco("images/train2017/*.jpg", text)),
    Case("check-real-coco", "json-cut-short", check_real_coco(COCO_VAL, cut_short)),
    Case("check-real-coco", "dangling-image-id", check_real_coco(COCO_VAL, edit_json(dangling_image_id))),
]


# --- `data check`: the roots themselves and suite.toml ---------------------------------------------


def check_root(make_root: Callable[[Path], Path]):
    def make(bases: Bases, tmp: Path) -> Run:
        root = make_root(tmp)
        return Run(["data", "check", "--root", str(root)], root)

    return make


def nonexistent(tmp: Path) -> Path:
    return tmp / "does" / "not" / "exist"


def a_file(tmp: Path) -> Path:
    path = tmp / "synth.txt"
    path.write_text("not a folder\n")
    return path


def an_empty_folder(tmp: Path) -> Path:
    path = tmp / "empty"
    path.mkdir()
    return path


def config(content: str | bytes):
    """data check with tmp/suite.toml holding content (text, or bytes as they are)."""

    def make(bases: Bases, tmp: Path) -> Run:
        path = tmp / "suite.toml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return Run(["data", "check"], path)

    return make


def configured_root_missing(bases: Bases, tmp: Path) -> Run:
    (tmp / "suite.toml").write_text('[datasets]\ncoco = "no-such-folder"\n')
    return Run(["data", "check"], tmp / "no-such-folder")


CONFIG_CASES = [
    Case("check", "root-does-not-exist", check_root(nonexistent)),
    Case("check", "root-is-a-file", check_root(a_file)),
    Case("check", "root-is-an-empty-folder", check_root(an_empty_folder)),
    Case("check", "configured-root-does-not-exist", configured_root_missing),
    Case("suite.toml", "top-level-coco-42", config("coco = 42\n"), ("coco",)),
    Case("suite.toml", "datasets-coco-42", config("[datasets]\ncoco = 42\n"), ("[datasets].coco", "42")),
    Case("suite.toml", "datasets-coco-list", config('[datasets]\ncoco = ["a", "b"]\n'), ("[datasets].coco",)),
    Case("suite.toml", "datasets-coco-empty", config('[datasets]\ncoco = ""\n'), ("[datasets].coco",)),
    Case("suite.toml", "datasets-not-a-table", config("datasets = 3\n"), ("datasets",)),
    Case("suite.toml", "unknown-dataset", config('[datasets]\nimagenet = "/data"\n'), ("imagenet",)),
    Case("suite.toml", "weights-number", config("[weights]\nmoco-v2-in = 3\n"), ("[weights].moco-v2-in",)),
    Case("suite.toml", "plugins-text", config('plugins = "my_lab"\n'), ("plugins",)),
    Case("suite.toml", "cut-short", config('[datasets]\ncoco = "/data/co'), ("not valid TOML",)),
    Case("suite.toml", "binary", config("\x00\x01\x02 not toml"), ("not valid TOML",)),
    Case("suite.toml", "not-utf8", config(b'[datasets]\ncoco = "\xff\xfe"\n'), ("not valid TOML",)),
]


# --- `eval`: every metric, on good prediction files with one thing broken -------------------------

RNG = np.random.default_rng(0)
JOINTS_3D = RNG.normal(0, 100, (5, 17, 3))
JOINTS_2D = RNG.uniform(0, 256, (5, 17, 2))


Builder = Callable[[str, Corrupt], Callable[[Bases, Path], Run]]  # (which file, corruption) -> case


def eval_cases(metric: str, build: Builder, table: list[tuple]) -> list[Case]:
    """One case per row (what is wrong, which file: pred / gt / smpl, the corruption[, words it says])."""
    return [
        Case(f"eval-{metric}", bad, build(which, corrupt), tuple(says))
        for bad, which, corrupt, *says in table
    ]


def eval_run(metric: str, pred: Path, gt: Path, named: Path, **env: str) -> Run:
    return Run(["eval", metric, "--pred", str(pred), "--gt", str(gt)], named, env=env)


def arrays(metric: str, good: np.ndarray) -> Builder:
    """eval METRIC of two .npy files holding `good`, one then corrupted."""

    def build(which: str, bad: Corrupt):
        def make(bases: Bases, tmp: Path) -> Run:
            files = {name: tmp / f"{name}_joints.npy" for name in ("pred", "gt")}
            for path in files.values():
                np.save(path, good)
            bad(files[which])
            return eval_run(metric, files["pred"], files["gt"], files[which])

        return make

    return build


def array_table(good: np.ndarray) -> list[tuple]:
    return [
        ("pred-nan", "pred", replaced_by(with_nan(good, (1, 2, 0))), "nan at index [1, 2, 0]"),
        ("gt-nan", "gt", replaced_by(with_nan(good, (4, 0, 1))), "nan at index [4, 0, 1]"),
        ("pred-inf", "pred", replaced_by(good * np.inf), "inf at index [0, 0, 0]"),
        ("pred-wrong-shape", "pred", replaced_by(good[..., :1])),
        ("pred-wrong-count", "pred", replaced_by(good[:3])),
        ("pred-no-poses", "pred", replaced_by(good[:0])),
        ("pred-strings", "pred", replaced_by(good.astype(str))),
        ("pred-objects", "pred", replaced_by(good.astype(object))),
        ("pred-booleans", "pred", replaced_by(good > 0)),
        ("pred-truncated", "pred", truncated),
        ("pred-empty", "pred", emptied),
        ("gt-text", "gt", text),
        ("gt-not-found", "gt", removed),
    ]


def pckh(pred_name: str = "pred.npy") -> Builder:
    """eval pckh of an .npy (or HRNet's pred.mat) of SynthHuman's MPII truth against its gt_valid.mat."""

    def build(which: str, bad: Corrupt):
        def make(bases: Bases, tmp: Path) -> Run:
            gt = tmp / "gt_valid.mat"
            shutil.copy(bases.synth / "mpii/annot/gt_valid.mat", gt)
            truth = scipy.io.loadmat(gt)["pos_gt_src"].transpose(2, 0, 1)  # (N, 16, 2), 1-based
            pred = tmp / pred_name
            if pred.suffix == ".mat":
                scipy.io.savemat(pred, {"preds": truth})
            else:
                np.save(pred, truth - 1)
            files = {"pred": pred, "gt": gt}
            bad(files[which])
            return eval_run("pckh", pred, gt, files[which])

        return make

    return build


def mat_edit(key: str, value=DELETE) -> Corrupt:
    """A MATLAB file with one variable changed (a function of the old value) or removed."""

    def corrupt(path: Path) -> None:
        mat = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
        if value is DELETE:
            del mat[key]
        else:
            mat[key] = value(mat[key])
        scipy.io.savemat(path, mat)

    return corrupt


def npy_with_nan(path: Path) -> None:
    npy(path, with_nan(np.load(path), (0, 3, 1)))


PCKH_TABLE = [
    ("pred-nan", "pred", npy_with_nan, "nan at index [0, 3, 1]"),
    ("pred-wrong-shape", "pred", replaced_by(np.zeros((4, 17, 2)))),
    ("pred-wrong-count", "pred", replaced_by(np.zeros((3, 16, 2)))),
    ("pred-strings", "pred", replaced_by(np.full((4, 16, 2), "x"))),
    ("pred-not-found", "pred", removed),
    ("gt-truncated", "gt", truncated),
    ("gt-text", "gt", text),
    ("gt-no-headboxes", "gt", mat_edit("headboxes_src")),
    ("gt-nan", "gt", mat_edit("pos_gt_src", lambda a: with_nan(a, (0, 0, 0))), "pos_gt_src"),
]
PCKH_MAT_TABLE = [
    ("pred-mat-text", "pred", text),
    ("pred-mat-no-preds", "pred", mat_edit("preds")),
    ("pred-mat-nan", "pred", mat_edit("preds", lambda a: with_nan(a, (0, 0, 0))), "nan at index [0, 0, 0]"),
]


def coco_ap(which: str, bad: Corrupt):
    """eval coco-ap of results made from the real COCO annotations (test_coco.json), `which` corrupted."""

    def make(bases: Bases, tmp: Path) -> Run:
        gt = tmp / "test_coco.json"
        shutil.copy(bases.fixtures() / "mmpose/tests/data/coco/test_coco.json", gt)
        annotations = json.loads(gt.read_text())["annotations"]
        results = [
            {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 0.9}
            for a in annotations
            if a["num_keypoints"] > 0
        ]
        pred = tmp / "results.json"
        pred.write_text(json.dumps(results))
        files = {"pred": pred, "gt": gt}
        bad(files[which])
        return eval_run("coco-ap", pred, gt, files[which])

    return make


COCO_AP_TABLE = [
    ("gt-cut-short", "gt", cut_short),
    ("gt-empty", "gt", emptied),
    ("gt-no-annotations", "gt", edit_json(edit("annotations"))),
    ("gt-dangling-image-id", "gt", edit_json(dangling_image_id), "987654321"),
    ("gt-keypoints-wrong-length", "gt", json_edit("annotations", "keypoints", [0] * 50)),
    ("gt-nan-keypoints", "gt", json_edit("annotations", "keypoints", [NAN] * 51), "nan at index [0]"),
    ("gt-no-bbox", "gt", json_edit("annotations", "bbox"), "bbox"),
    ("pred-cut-short", "pred", cut_short),
    ("pred-dangling-image-id", "pred", json_edit(None, "image_id", 1)),
    ("pred-keypoints-wrong-length", "pred", json_edit(None, "keypoints", [0] * 48)),
    ("pred-nan-score", "pred", json_edit(None, "score", NAN)),
    ("pred-no-score", "pred", json_edit(None, "score"), "score"),
    ("pred-empty-list", "pred", lambda path: path.write_text("[]")),
    ("pred-not-found", "pred", removed),
]


def parsing(which: str, bad: Corrupt):
    """eval parsing of the real LIP label map against itself, the map of `which` corrupted."""

    def make(bases: Bases, tmp: Path) -> Run:
        source = bases.fixtures() / "mmsegmentation/tests/data/pseudo_lip_dataset"
        folders = {"gt": tmp / "val_segmentations", "pred": tmp / "parsing"}
        for folder in folders.values():
            shutil.copytree(source / "val_segmentations", folder)
        target = pick(folders[which], "*.png")
        bad(target)
        named = target if target.exists() else target.parent  # a missing map: its folder names it
        return eval_run("parsing", folders["pred"], folders["gt"], named)

    return make


def resized(path: Path) -> None:
    label = Image.open(path)
    label.resize((label.width // 2, label.height // 2), Image.NEAREST).save(path)


def class_25(path: Path) -> None:
    label = np.asarray(Image.open(path)).copy()
    label[0, 0] = 25
    Image.fromarray(label).save(path)


def folder_removed(path: Path) -> None:
    shutil.rmtree(path.parent)


PARSING_TABLE = [
    ("pred-truncated-png", "pred", truncated),
    ("pred-text-named-png", "pred", text),
    ("pred-empty-png", "pred", emptied),
    ("pred-rgb", "pred", rgb_png),
    ("pred-wrong-size", "pred", resized),
    ("pred-class-25", "pred", class_25, "25"),
    ("pred-map-missing", "pred", removed),
    ("pred-folder-missing", "pred", folder_removed),
    ("gt-truncated-png", "gt", truncated),
    ("gt-class-25", "gt", class_25, "25"),
    ("gt-folder-missing", "gt", folder_removed),
]


def reconstruction(which: str, bad: Corrupt):
    """eval reconstruction-error of SMPL parameters (npz) on a copy of SynthHuman's body models; `which`
    ("pred", "gt", or a file of the body models: "smpl/SMPL_NEUTRAL.pkl", "." the whole root) corrupted."""

    def make(bases: Bases, tmp: Path) -> Run:
        pred, gt = tmp / "predictions.npz", tmp / "3dpw_test.npz"
        pose, betas = RNG.normal(0, 0.2, (3, 72)), RNG.normal(0, 1, (3, 10))
        np.savez(pred, pose=pose, betas=betas)
        np.savez(gt, pose=pose, shape=betas, gender=np.array(["m", "f", "m"]))
        smpl = tmp / "body_models"
        shutil.copytree(bases.synth / SYNTH_FOLDERS["smpl"], smpl)
        target = {"pred": pred, "gt": gt}.get(which, smpl / which)
        bad(target)
        return eval_run("reconstruction-error", pred, gt, target, SUITE_SMPL_ROOT=str(smpl))

    return make


def lsp_joints(which: str, bad: Corrupt):
    """eval reconstruction-error of (N, 14, 3) LSP joints in .npy files (no body model), `which` corrupted."""

    def make(bases: Bases, tmp: Path) -> Run:
        files = {name: tmp / f"{name}_lsp.npy" for name in ("pred", "gt")}
        for path in files.values():
            np.save(path, RNG.normal(0, 100, (3, 14, 3)))
        bad(files[which])
        return eval_run("reconstruction-error", files["pred"], files["gt"], files[which])

    return make


def npz_edit(key: str, value=DELETE) -> Corrupt:
    """An npz with one array changed (to value, or a function of the old one) or removed."""

    def corrupt(path: Path) -> None:
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files}
        if value is DELETE:
            del arrays[key]
        else:
            arrays[key] = value(arrays[key]) if callable(value) else value
        np.savez(path, **arrays)

    return corrupt


def two_persons_fewer(path: Path) -> None:
    for key in ("pose", "betas"):
        npz_edit(key, lambda array: array[:-2])(path)


def root_removed(path: Path) -> None:
    shutil.rmtree(path)


RECONSTRUCTION_TABLE = [
    ("pred-no-betas", "pred", npz_edit("betas"), "betas"),
    ("pred-pose-wrong-shape", "pred", npz_edit("pose", np.zeros((3, 70)))),
    ("pred-nan-pose", "pred", npz_edit("pose", lambda a: with_nan(a, (1, 5))), "nan at index [1, 5]"),
    ("pred-strings", "pred", npz_edit("betas", np.full((3, 10), "x"))),
    ("pred-wrong-count", "pred", two_persons_fewer),
    ("pred-truncated", "pred", truncated),
    ("pred-text", "pred", text),
    ("gt-no-gender", "gt", npz_edit("gender"), "gender"),
    ("gt-fewer-genders", "gt", npz_edit("gender", lambda a: a[:2])),
    ("gt-nan-shape", "gt", npz_edit("shape", lambda a: with_nan(a, (2, 3))), "nan at index [2, 3]"),
    ("gt-not-found", "gt", removed),
    ("smpl-root-missing", ".", root_removed),
    ("smpl-model-truncated", SMPL_NEUTRAL, truncated),
    ("smpl-regressor-wrong-shape", J_REGRESSOR, replaced_by(np.zeros((17, 7)))),
]
LSP_JOINTS_TABLE = [
    ("pred-joints-nan", "pred", npy_with_nan, "nan at index [0, 3, 1]"),
    ("gt-joints-wrong-shape", "gt", replaced_by(np.zeros((3, 17, 3)))),
    ("gt-joints-strings", "gt", replaced_by(np.full((3, 14, 3), "1"))),
]

EVAL_CASES = [
    *eval_cases("mpjpe", arrays("mpjpe", JOINTS_3D), array_table(JOINTS_3D)),
    *eval_cases("pa-mpjpe", arrays("pa-mpjpe", JOINTS_3D), array_table(JOINTS_3D)),
    *eval_cases("jdr", arrays("jdr", JOINTS_2D), array_table(JOINTS_2D)),
    *eval_cases("pckh", pckh(), PCKH_TABLE),
    *eval_cases("pckh", pckh("pred.mat"), PCKH_MAT_TABLE),
    *eval_cases("coco-ap", coco_ap, COCO_AP_TABLE),
    *eval_cases("parsing", parsing, PARSING_TABLE),
    *eval_cases("reconstruction-error", reconstruction, RECONSTRUCTION_TABLE),
    *eval_cases("reconstruction-error", lsp_joints, LSP_JOINTS_TABLE),
]


# --- checkpoints: `export`, `finetune --init`, `pretrain --init` -----------------------------------


def torch_save(value_of: Callable[[], object]) -> Corrupt:
    def corrupt(path: Path) -> None:
        import torch

        torch.save(value_of(), path)

    return corrupt


def nan_weight(path: Path) -> None:
    import torch

    state = torch.load(path, weights_only=True)
    state["layer1.0.conv1.weight"][0, 0, 0, 0] = NAN
    torch.save(state, path)


def as_safetensors(path: Path) -> None:
    """The checkpoint's state dict rewritten in Hugging Face's safetensors format."""
    import torch
    from safetensors.torch import save_file

    save_file(torch.load(path, weights_only=True), path)


def in_turn(*corruptions: Corrupt) -> Corrupt:
    def corrupt(path: Path) -> None:
        for each in corruptions:
            each(path)

    return corrupt


def zeros():
    import torch

    return torch.zeros(3)


CHECKPOINT_TABLE = [
    # (what is wrong, the corruption of a good ResNet-18 file, what the error says); none but a file of
    # Python objects may suggest --trust
    ("not-found", removed, "not found"),
    ("directory", lambda path: path.unlink() or path.mkdir(), "directory"),
    ("empty", emptied, "is empty (0 bytes): not a PyTorch checkpoint"),
    ("text", text, "not a PyTorch checkpoint"),
    ("json", lambda path: path.write_text('{"state_dict": {}}\n'), "not a PyTorch checkpoint"),
    ("random-bytes", lambda path: path.write_bytes(RNG.bytes(4096)), "not a PyTorch checkpoint"),
    ("truncated", truncated, "truncated or corrupt"),
    ("unknown-keys", torch_save(lambda: {"foo": zeros(), "bar": {"baz": 1}}), "unknown checkpoint format"),
    ("a-list", torch_save(lambda: [zeros()]), "list, not a dict"),
    ("nan-weights", nan_weight, "layer1.0.conv1.weight holds nan at index [0, 0, 0, 0]"),
    ("safetensors-truncated", in_turn(as_safetensors, truncated), "cannot be read as a safetensors file"),
    (
        "safetensors-nan",
        in_turn(nan_weight, as_safetensors),
        "layer1.0.conv1.weight holds nan at index [0, 0, 0, 0]",
    ),
]


def checkpoint_verb(verb: Callable[[Bases, Path, Path], tuple[list[str], Path]]):
    """verb(bases, tmp, checkpoint) -> (argv, its output); a builder of its cases (corruption -> case)."""

    def build(corrupt: Corrupt):
        def make(bases: Bases, tmp: Path) -> Run:
            checkpoint = tmp / "backbone.pth"
            shutil.copy(bases.checkpoint, checkpoint)
            corrupt(checkpoint)
            argv, out = verb(bases, tmp, checkpoint)
            return Run(argv, checkpoint, (out,))

        return make

    return build


def export_argv(bases: Bases, tmp: Path, checkpoint: Path) -> tuple[list[str], Path]:
    out = tmp / "exported" / "resnet18.pth"
    return ["export", str(checkpoint), "--to", "torchvision", "--out", str(out)], out


def finetune_argv(bases: Bases, tmp: Path, checkpoint: Path) -> tuple[list[str], Path]:
    out = tmp / "run"
    verb = ["finetune", "--task", "h36m-3d", "--data", str(bases.synth), "--profile", "smoke"]
    return [*verb, "--out", str(out), "--max-steps", "1", "--init", str(checkpoint)], out


def pretrain_argv(bases: Bases, tmp: Path, checkpoint: Path) -> tuple[list[str], Path]:
    out = tmp / "run"
    verb = [
        "pretrain",
        "--method",
        "moco-v2",
        "--data",
        str(bases.synth / "generic/train"),
        "--profile",
        "smoke",
    ]
    return [*verb, "--out", str(out), "--max-steps", "1", "--init", str(checkpoint)], out


export = checkpoint_verb(export_argv)
CHECKPOINT_CASES = [
    *(Case("export", bad, export(corrupt), (says,), ("--trust",)) for bad, corrupt, says in CHECKPOINT_TABLE),
    # --init reads the checkpoint before anything trains (a few kinds: the reader is the same)
    *(
        Case(f"{verb}-init", bad, checkpoint_verb(argv)(corrupt), (says,), ("--trust",))
        for verb, argv in (("finetune", finetune_argv), ("pretrain", pretrain_argv))
        for bad, corrupt, says in CHECKPOINT_TABLE
        if bad in ("not-found", "empty", "text", "truncated", "unknown-keys")
    ),
]


# --- cluster profiles (`run --executor slurm --cluster FILE`) ---------------------------------------


def cluster(content: str | None):
    def make(bases: Bases, tmp: Path) -> Run:
        path = tmp / "lab.yaml"
        if content is not None:
            path.write_text(content)
        work, results = tmp / "work", tmp / "results"
        argv = ["run", "--table", "4", "--profile", "smoke", "--executor", "slurm", "--cluster", str(path)]
        argv += ["--workdir", str(work), "--results", str(results)]
        return Run(argv, path, (results,), forbid=("suite.orchestration.launch:launch",))

    return make


CLUSTER_CASES = [
    Case("cluster", "partition-list", cluster("defaults:\n  partition: [a, b]\n"), ("defaults.partition",)),
    Case("cluster", "partition-empty", cluster("pretrain:\n  partition: ''\n"), ("pretrain.partition",)),
    Case("cluster", "account-number", cluster("defaults:\n  account: 5\n"), ("defaults.account",)),
    Case("cluster", "qos-mapping", cluster("evaluate:\n  qos: {a: 1}\n"), ("evaluate.qos",)),
    Case("cluster", "nodes-text", cluster("pretrain:\n  nodes: two\n"), ("pretrain.nodes",)),
    Case("cluster", "nodes-bool", cluster("pretrain:\n  nodes: true\n"), ("pretrain.nodes",)),
    Case("cluster", "nodes-negative", cluster("finetune:\n  nodes: -1\n"), ("finetune.nodes",)),
    Case("cluster", "time-fraction", cluster("evaluate:\n  time_min: 1.5\n"), ("evaluate.time_min",)),
    Case("cluster", "tasks-text", cluster("prepare:\n  tasks_per_node: all\n"), ("prepare.tasks_per_node",)),
    Case("cluster", "mem-text", cluster("defaults:\n  mem_gb: lots\n"), ("defaults.mem_gb",)),
    Case("cluster", "mem-negative", cluster("defaults:\n  mem_gb: -4\n"), ("defaults.mem_gb",)),
    Case("cluster", "mem-nan", cluster("defaults:\n  mem_gb: .nan\n"), ("defaults.mem_gb",)),
    Case("cluster", "mem-null", cluster("defaults:\n  mem_gb: null\n"), ("defaults.mem_gb",)),
    Case("cluster", "section-list", cluster("defaults: [1, 2]\n"), ("defaults",)),
    Case("cluster", "top-level-list", cluster("- defaults\n")),
    Case("cluster", "unknown-key", cluster("defaults:\n  gpus: 4\n"), ("gpus",)),
    Case("cluster", "not-yaml", cluster("defaults: {partition: [gpu\n"), ("YAML",)),
    Case("cluster", "not-found", cluster(None), ("not found",)),
]


# --- `data crops`: the COCO and Human3.6M readers again, with an output folder ----------------------


def crops(name: str, pattern: str, corrupt: Corrupt):
    """data crops --NAME of a copy of SynthHuman's dataset whose file `pattern` is corrupted."""

    def make(bases: Bases, tmp: Path) -> Run:
        root = tmp / SYNTH_FOLDERS[name]
        shutil.copytree(bases.synth / SYNTH_FOLDERS[name], root)
        target = pick(root, pattern)
        corrupt(target)
        out = tmp / "crops"
        return Run(["data", "crops", f"--{name}", str(root), "--out", str(out)], target, (out,))

    return make


COCO_TRAIN = "annotations/person_keypoints_train2017.json"
H36M_RLE_TRAIN = "annotations/Sample_trainmin_train_Human36M_protocol_2.json"
CROPS_CASES = [
    Case("crops-coco", "json-cut-short", crops("coco", COCO_TRAIN, cut_short)),
    Case("crops-coco", "dangling-image-id", crops("coco", COCO_TRAIN, edit_json(dangling_image_id))),
    Case("crops-coco", "empty-jpeg", crops("coco", "images/train2017/*.jpg", emptied)),
    Case("crops-h36m", "json-cut-short", crops("h36m", H36M_RLE_TRAIN, cut_short)),
    Case(
        "crops-h36m", "text-named-jpeg", crops("h36m", "images/s_01_*/*.jpg", text)
    ),  # S1: a training subject
]


CASES = [
    *CHECK_CASES,
    *REAL_COCO_CASES,
    *CONFIG_CASES,
    *EVAL_CASES,
    *CHECKPOINT_CASES,
    *CLUSTER_CASES,
    *CROPS_CASES,
]


# --- the good bases: each builder above with nothing corrupted must succeed -------------------------


def unchanged(path: Path) -> None:
    pass


GOOD = {
    **{f"check-{name}": check(name, "*", unchanged) for name in DATASETS},
    "check-real-coco": check_real_coco(COCO_VAL, unchanged),
    "suite.toml": config('plugins = []\n[datasets]\n[weights]\nmoco-v2-in = "moco_v2.pth"\n'),
    "eval-mpjpe": arrays("mpjpe", JOINTS_3D)("pred", unchanged),
    "eval-pa-mpjpe": arrays("pa-mpjpe", JOINTS_3D)("pred", unchanged),
    "eval-jdr": arrays("jdr", JOINTS_2D)("pred", unchanged),
    "eval-pckh-npy": pckh()("pred", unchanged),
    "eval-pckh-mat": pckh("pred.mat")("pred", unchanged),
    "eval-coco-ap": coco_ap("pred", unchanged),
    "eval-parsing": parsing("pred", unchanged),
    "eval-reconstruction-error-smpl": reconstruction("pred", unchanged),
    "eval-reconstruction-error-joints": lsp_joints("pred", unchanged),
    "export": export(unchanged),
}


@pytest.mark.parametrize("verb", GOOD)
def test_the_good_bases_are_accepted(verb, bases, clean_env, monkeypatch, capsys):
    run = GOOD[verb](bases, clean_env)
    for variable, value in run.env.items():
        monkeypatch.setenv(variable, value)
    assert main(run.argv) == 0, capsys.readouterr().err
    assert all(path.exists() for path in run.outputs)


def test_a_good_cluster_profile_is_read(tmp_path):
    from suite.orchestration.cluster import read_cluster

    path = tmp_path / "lab.yaml"
    path.write_text(
        "defaults: {partition: gpu, account: null, qos: normal, constraint: a100, mem_gb: 64.5}\n"
        "pretrain: {nodes: 2, gpus_per_node: 8, tasks_per_node: null, time_min: 2880}\n"
    )
    pretrain = read_cluster(path).settings("pretrain")
    assert (pretrain.partition, pretrain.qos, pretrain.mem_gb, pretrain.nodes, pretrain.tasks) == (
        "gpu",
        "normal",
        64.5,
        2,
        8,
    )


# --- the bases, and the test ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from suite.data.synth import generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, n=4, seed=0)
    return root


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    import torch
    import torchvision

    path = tmp_path_factory.mktemp("checkpoint") / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path


@pytest.fixture
def bases(synth, checkpoint, request) -> Bases:
    return Bases(synth, checkpoint, lambda: request.getfixturevalue("fixtures"))


@pytest.fixture
def clean_env(tmp_path, monkeypatch) -> Path:
    """An empty working folder with no suite.toml, and no dataset root from the environment."""
    monkeypatch.chdir(tmp_path)
    for variable in ("SUITE_CONFIG", *(f"SUITE_{name.upper()}_ROOT" for name in DATASETS)):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_answers_one_clean_error(case, bases, clean_env, monkeypatch, capsys):
    run = case.make(bases, clean_env)
    for variable, value in run.env.items():
        monkeypatch.setenv(variable, value)
    for target in run.forbid:
        module, function = target.split(":")

        def reached(*args, target=target, **kwargs):
            raise AssertionError(f"the bad input reached {target}")

        monkeypatch.setattr(importlib.import_module(module), function, reached)
    before = {path for path in clean_env.rglob("*")}

    code = main(run.argv)  # an exception escaping here is a traceback: the test fails

    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2, f"exit {code}, stderr:\n{err}"
    assert len(errors) == 1, err
    assert f"{run.named.parent.name}/{run.named.name}" in errors[0], err
    assert "\n  fix: " in err, err
    assert all(word in err for word in case.says), err
    assert not any(word in err for word in case.never), err
    assert not [path for path in run.outputs if path.exists()], err
    left = sorted(str(path.relative_to(clean_env)) for path in set(clean_env.rglob("*")) - before)
    assert not left, f"left behind: {left}"
