"""Joint detection rate: a hand-computed case on the inclusive 12.8 px boundary, the keys, the files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from suite.cli import main
from suite.data.skeleton import JOINTS
from suite.errors import SuiteError
from suite.evaluate.jdr import THRESHOLD_PX, evaluate_files, jdr, jdr_threshold


def test_threshold_is_half_a_tenth_of_the_input():
    assert jdr_threshold(256) == THRESHOLD_PX == 12.8
    assert jdr_threshold(384) == pytest.approx(19.2)


def hand_case() -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((2, len(JOINTS), 2))
    pred = gt.copy()
    pred[0, JOINTS.index("root")] = [12.8, 0.0]  # on the boundary: detected
    pred[0, JOINTS.index("r_hip")] = [12.81, 0.0]  # just past it
    pred[1, JOINTS.index("root")] = [0.0, 13.0]
    pred[1, JOINTS.index("l_wrist")] = [9.0, 9.0]  # 12.73 px
    pred[:, JOINTS.index("head")] = [[100.0, 0.0], [0.0, -12.0]]
    return pred, gt


def test_by_hand():
    pred, gt = hand_case()
    result = jdr(pred, gt)
    assert list(result) == [*JOINTS, "total"]
    assert result["root"] == 50.0  # sample 0 on the boundary yes, sample 1 at 13 px no
    assert result["r_hip"] == 50.0  # 12.81 px no, 0 yes
    assert result["head"] == 50.0  # 100 px no, 12 px yes
    assert result["l_wrist"] == 100.0
    others = [result[name] for name in JOINTS if name not in ("root", "r_hip", "head")]
    assert others == [100.0] * (len(JOINTS) - 3)
    assert result["total"] == pytest.approx((3 * 50 + 14 * 100) / 17, abs=1e-12)
    assert jdr(pred, gt, threshold_px=13.0)["root"] == 100.0
    with pytest.raises(ValueError, match="17, 2"):
        jdr(pred[:, :16], gt[:, :16])


def test_evaluate_files_and_eval_verb(tmp_path, capsys):
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 1000, size=(50, len(JOINTS), 2))
    pred = gt + rng.normal(size=gt.shape) * 10
    np.save(tmp_path / "pred.npy", pred)
    np.save(tmp_path / "gt.npy", gt)
    expected = jdr(pred, gt)
    assert 20 < expected["total"] < 90
    assert evaluate_files(tmp_path / "pred.npy", tmp_path / "gt.npy") == expected
    args = ["eval", "jdr", "--pred", str(tmp_path / "pred.npy"), "--gt", str(tmp_path / "gt.npy")]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(expected, abs=1e-12)
    assert main(args) == 0
    assert "r_wrist" in capsys.readouterr().out
    np.save(tmp_path / "three.npy", np.zeros((50, len(JOINTS), 3)))
    np.save(tmp_path / "fewer.npy", pred[:-1])
    for name in ("three.npy", "fewer.npy", "absent.npy"):
        with pytest.raises(SuiteError, match=name.replace(".", r"\.")):
            evaluate_files(tmp_path / name, tmp_path / "gt.npy")
    assert main(["eval", "jdr", "--pred", str(tmp_path / "three.npy"), "--gt", str(tmp_path / "gt.npy")]) == 2
    err = capsys.readouterr().err
    assert "three.npy" in err and "Traceback" not in err
