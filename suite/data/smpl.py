"""SMPL body models, the Human3.6M joint regressor and HMR/SPIN's mean parameters, validated.

Layout (SPIN / mmhuman3d): <root>/smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl and <root>/J_regressor_h36m.npy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse

from suite.data.layouts import SMPL_GENDERS, SMPL_J_REGRESSOR_H36M, SMPL_MODEL
from suite.data.safe_pickle import load_npy, load_npz, load_pickle
from suite.data.skeleton import NUM_JOINTS
from suite.data.validate import require_array, require_keys
from suite.errors import DatasetError

FIX_MODEL = (
    "download SMPL (smpl.is.tue.mpg.de, v1.1.0 'basicmodel_*_lbs_10_207_0_v1.1.0.pkl', or SMPLify's neutral "
    "model) and save it as <root>/smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl"
)
FIX_CHUMPY = (
    "this SMPL file stores chumpy objects; use the chumpy-free SMPL v1.1.0 pkl files, or convert it with "
    "smplx's tools/clean_ch.py (github.com/vchoutas/smplx) and save the result in its place"
)
FIX_REGRESSOR = "put SPIN's J_regressor_h36m.npy (from its data tarball) at <root>/J_regressor_h36m.npy"
FIX_MEAN = "use HMR/SPIN's smpl_mean_params.npz (pose 144, shape 10, cam 3)"
NUM_SMPL_JOINTS = 24
NUM_POSE_BASIS = 207  # 23 joints × 9 rotation-matrix entries


@dataclass(frozen=True, eq=False)
class SmplModel:
    """An SMPL model's arrays under SMPL's own key names (f is `faces`)."""

    v_template: np.ndarray  # (V, 3)
    shapedirs: np.ndarray  # (V, 3, B), B >= 10
    posedirs: np.ndarray  # (V, 3, 207)
    J_regressor: np.ndarray  # (24, V), dense
    weights: np.ndarray  # (V, 24)
    kintree_table: np.ndarray  # (2, 24)
    faces: np.ndarray  # (F, 3) vertex indices

    @property
    def num_vertices(self) -> int:
        return len(self.v_template)


def read_model(path: str | Path) -> SmplModel:
    """A plain-data SMPL pkl; chumpy-pickled originals are refused with how to convert them."""
    path = Path(path)
    try:
        data = load_pickle(path, FIX_MODEL)
    except DatasetError as error:
        if "chumpy" in error.what:
            raise DatasetError("stores chumpy objects, which are not plain data", path, FIX_CHUMPY) from error
        raise
    keys = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
    require_keys(data, keys, "the SMPL model", path, FIX_MODEL)
    v_template = require_array(data["v_template"], (None, 3), "v_template", path, FIX_MODEL)
    vertices = len(v_template)
    regressor = data["J_regressor"]
    shapedirs = require_array(data["shapedirs"], (vertices, 3, None), "shapedirs", path, FIX_MODEL)
    if shapedirs.shape[2] < 10:
        raise DatasetError(
            f"shapedirs has {shapedirs.shape[2]} shape components, expected >= 10", path, FIX_MODEL
        )
    faces = require_array(data["f"], (None, 3), "f", path, FIX_MODEL, dtype=np.int64)
    if faces.size and (faces.min() < 0 or faces.max() >= vertices):
        raise DatasetError(f"f indexes vertices outside 0..{vertices - 1}", path, FIX_MODEL)
    return SmplModel(
        v_template=v_template,
        shapedirs=shapedirs,
        posedirs=require_array(data["posedirs"], (vertices, 3, NUM_POSE_BASIS), "posedirs", path, FIX_MODEL),
        J_regressor=require_array(
            regressor.toarray() if scipy.sparse.issparse(regressor) else regressor,
            (NUM_SMPL_JOINTS, vertices),
            "J_regressor",
            path,
            FIX_MODEL,
        ),
        weights=require_array(data["weights"], (vertices, NUM_SMPL_JOINTS), "weights", path, FIX_MODEL),
        kintree_table=require_array(
            data["kintree_table"], (2, NUM_SMPL_JOINTS), "kintree_table", path, FIX_MODEL, np.int64
        ),
        faces=faces,
    )


def read_j_regressor_h36m(path: str | Path, num_vertices: int | None = None) -> np.ndarray:
    """SPIN's (17, V) regressor from SMPL vertices to the Human3.6M joints; V checked when given."""
    path = Path(path)
    array = load_npy(path, FIX_REGRESSOR)
    return require_array(array, (NUM_JOINTS, num_vertices), "J_regressor_h36m", path, FIX_REGRESSOR)


@dataclass(frozen=True, eq=False)
class MeanParams:
    """HMR/SPIN's regressor initialisation."""

    pose: np.ndarray  # (144,) 24 joints × 6D rotation
    shape: np.ndarray  # (10,) betas
    cam: np.ndarray  # (3,) weak perspective s, tx, ty


def read_mean_params(path: str | Path) -> MeanParams:
    path = Path(path)
    data = load_npz(path, FIX_MEAN)
    require_keys(data, ("pose", "shape", "cam"), "the npz", path, FIX_MEAN)
    return MeanParams(
        pose=require_array(data["pose"], (6 * NUM_SMPL_JOINTS,), "pose", path, FIX_MEAN),
        shape=require_array(data["shape"], (10,), "shape", path, FIX_MEAN),
        cam=require_array(data["cam"], (3,), "cam", path, FIX_MEAN),
    )


def check(root: Path) -> str:
    """Validate the models and regressor present under root, and that they agree on the vertex count."""
    root = Path(root)
    models = {
        gender: read_model(root / SMPL_MODEL.format(gender=gender))
        for gender in SMPL_GENDERS
        if (root / SMPL_MODEL.format(gender=gender)).is_file()
    }
    if not models:
        expected = ", ".join(SMPL_MODEL.format(gender=gender) for gender in SMPL_GENDERS)
        raise DatasetError(f"no SMPL model found; expected {expected}", root, FIX_MODEL)
    counts = {gender: model.num_vertices for gender, model in models.items()}
    if len(set(counts.values())) > 1:
        raise DatasetError(f"the models disagree on the vertex count: {counts}", root / "smpl", FIX_MODEL)
    vertices = next(iter(counts.values()))
    missing = [gender for gender in SMPL_GENDERS if gender not in models]
    parts = [f"SMPL {', '.join(models)} ({vertices} vertices)"]
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if (root / SMPL_J_REGRESSOR_H36M).is_file():
        read_j_regressor_h36m(root / SMPL_J_REGRESSOR_H36M, vertices)
        parts.append("J_regressor_h36m ok")
    else:
        parts.append(f"no {SMPL_J_REGRESSOR_H36M} (needed for 3DPW evaluation)")
    return "; ".join(parts)
