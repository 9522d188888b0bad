"""SMPL readers: a tiny SMPL-format model built here, its broken variants, and the real mean parameters."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from suite.data import smpl
from suite.errors import DatasetError

V = 30
CHUMPY_PICKLE = b"\x80\x02}X\n\x00\x00\x00v_templatecchumpy.ch\nCh\n)\x81s."


def tiny_model(vertices: int = V) -> dict:
    rng = np.random.default_rng(vertices)
    regressor = np.zeros((24, vertices))
    regressor[np.arange(24), np.arange(24) % vertices] = 1.0
    return {
        "v_template": rng.normal(size=(vertices, 3)),
        "shapedirs": rng.normal(size=(vertices, 3, 10)),
        "posedirs": rng.normal(size=(vertices, 3, 207)),
        "J_regressor": scipy.sparse.csc_matrix(regressor),
        "weights": np.full((vertices, 24), 1 / 24),
        "kintree_table": np.stack([np.r_[4294967295, np.arange(23)], np.arange(24)]),
        "f": np.arange(30, dtype=np.uint32).reshape(10, 3) % vertices,
        "bs_style": "lbs",
    }


def write_model(root: Path, gender: str, model: dict) -> Path:
    path = root / "smpl" / f"SMPL_{gender}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(model))
    return path


def test_read_model(tmp_path):
    model = tiny_model()
    result = smpl.read_model(write_model(tmp_path, "NEUTRAL", model))
    assert result.num_vertices == V
    np.testing.assert_array_equal(result.J_regressor, model["J_regressor"].toarray())
    assert result.J_regressor[5, 5] == 1.0 and result.J_regressor.sum() == 24
    np.testing.assert_array_equal(result.posedirs, model["posedirs"])
    np.testing.assert_array_equal(result.faces, model["f"])
    assert result.kintree_table[0, 0] == 4294967295


def test_chumpy_model_gets_the_conversion_fix(tmp_path):
    path = tmp_path / "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl"
    path.write_bytes(CHUMPY_PICKLE)
    with pytest.raises(DatasetError, match="chumpy") as error:
        smpl.read_model(path)
    assert error.value.path == path and "clean_ch.py" in error.value.fix


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda model: model.pop("weights"), r"lacks \['weights'\]"),
        (lambda model: model.update(posedirs=np.zeros((V, 3, 200))), r"posedirs has shape \(30, 3, 200\)"),
        (lambda model: model.update(shapedirs=np.zeros((V, 3, 8))), "8 shape components"),
        (lambda model: model.update(J_regressor=np.zeros((24, V + 1))), r"expected \(24, 30\)"),
        (lambda model: model.update(f=np.array([[0, 1, V]])), "f indexes vertices outside 0..29"),
    ],
)
def test_bad_models(tmp_path, damage, message):
    model = tiny_model()
    damage(model)
    path = write_model(tmp_path, "MALE", model)
    with pytest.raises(DatasetError, match=message) as error:
        smpl.read_model(path)
    assert error.value.path == path


def test_truncated_model(tmp_path):
    path = write_model(tmp_path, "MALE", tiny_model())
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match="truncated"):
        smpl.read_model(path)


def test_j_regressor_h36m(tmp_path):
    path = tmp_path / "J_regressor_h36m.npy"
    regressor = np.random.default_rng(0).random((17, V))
    np.save(path, regressor)
    np.testing.assert_array_equal(smpl.read_j_regressor_h36m(path, V), regressor)
    with pytest.raises(DatasetError, match=r"shape \(17, 30\), expected \(17, 31\)"):
        smpl.read_j_regressor_h36m(path, V + 1)
    np.save(path, np.array([{"not": "numeric"}], dtype=object))
    with pytest.raises(DatasetError, match="not a plain numeric"):
        smpl.read_j_regressor_h36m(path)


@pytest.mark.fixtures
def test_mean_params(fixtures):
    path = fixtures / "mmpose" / "tests" / "data" / "smpl" / "smpl_mean_params.npz"
    params = smpl.read_mean_params(path)
    raw = np.load(path)
    np.testing.assert_allclose(params.cam, [0.9, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(params.pose[:6], [1, 0, 0, -1, 0, 0], atol=1e-6)
    assert params.pose.shape == (144,) and params.shape.shape == (10,)
    np.testing.assert_array_equal(params.shape, raw["shape"])


def test_check(tmp_path):
    write_model(tmp_path, "NEUTRAL", tiny_model())
    write_model(tmp_path, "MALE", tiny_model())
    expected = "SMPL NEUTRAL, MALE (30 vertices); missing FEMALE"
    assert smpl.check(tmp_path) == expected + "; no J_regressor_h36m.npy (needed for 3DPW evaluation)"
    np.save(tmp_path / "J_regressor_h36m.npy", np.zeros((17, V)))
    assert smpl.check(tmp_path) == expected + "; J_regressor_h36m ok"
    np.save(tmp_path / "J_regressor_h36m.npy", np.zeros((17, V + 2)))
    with pytest.raises(DatasetError, match=r"expected \(17, 30\)"):
        smpl.check(tmp_path)
    write_model(tmp_path, "FEMALE", tiny_model(V + 1))
    with pytest.raises(DatasetError, match="disagree on the vertex count"):
        smpl.check(tmp_path)


def test_check_without_models(tmp_path):
    with pytest.raises(DatasetError, match=r"no SMPL model found; expected smpl/SMPL_NEUTRAL\.pkl"):
        smpl.check(tmp_path)
