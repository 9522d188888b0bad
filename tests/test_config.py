"""Dataset roots from suite.toml / SUITE_CONFIG, overridden by SUITE_<NAME>_ROOT."""

import pytest

from suite.config import dataset_roots
from suite.data.layouts import DATASETS, SYNTH_FOLDERS
from suite.errors import SuiteError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUITE_CONFIG", raising=False)
    for name in DATASETS:
        monkeypatch.delenv(f"SUITE_{name.upper()}_ROOT", raising=False)


def test_nothing_configured_gives_none():
    assert dataset_roots() == dict.fromkeys(DATASETS)


def test_local_file_relative_paths_and_env_override(tmp_path, monkeypatch):
    (tmp_path / "suite.toml").write_text('[datasets]\ncoco = "data/coco"\nlip = "/abs/lip"\n')
    roots = dataset_roots()
    assert roots["coco"] == tmp_path / "data/coco"
    assert str(roots["lip"]) == "/abs/lip"
    assert roots["mpii"] is None
    monkeypatch.setenv("SUITE_COCO_ROOT", "/elsewhere/coco")
    assert str(dataset_roots()["coco"]) == "/elsewhere/coco"


def test_suite_config_env_points_to_another_file(tmp_path, monkeypatch):
    other = tmp_path / "cluster" / "paths.toml"
    other.parent.mkdir()
    other.write_text('[datasets]\nh36m = "h36m"\n')
    monkeypatch.setenv("SUITE_CONFIG", str(other))
    assert dataset_roots()["h36m"] == other.parent / "h36m"


def test_bad_config_names_the_file_and_the_fix(tmp_path, monkeypatch):
    (tmp_path / "suite.toml").write_text('[datasets]\ncocoo = "x"\n')
    with pytest.raises(SuiteError, match=r"suite\.toml.*cocoo") as error:
        dataset_roots()
    assert "coco" in error.value.fix
    (tmp_path / "suite.toml").write_text("[datasets\n")
    with pytest.raises(SuiteError, match="not valid TOML"):
        dataset_roots()
    monkeypatch.setenv("SUITE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(SuiteError, match=r"missing\.toml"):
        dataset_roots()


def test_synth_root_gives_every_dataset(tmp_path):
    roots = dataset_roots(tmp_path)
    assert roots == {name: tmp_path / SYNTH_FOLDERS[name] for name in DATASETS}
