"""Export: torchvision and mmpose backbone files, written atomically."""

from __future__ import annotations

import argparse

import pytest
import torch
import torchvision
from torch import nn

from suite.checkpoints.export import export
from suite.checkpoints.importers import import_backbone
from suite.errors import SuiteError

torch.manual_seed(0)
TRUNK = {
    key: torch.randn(value.shape) if value.is_floating_point() else value
    for key, value in torchvision.models.resnet18().state_dict().items()
    if not key.startswith("fc.")
}


def liftedcl(trunk):
    """RichardChen20/LiftedCL's layout: module.encoder_q. with its heads, the key encoder, the queues."""
    heads = {"mlp_invariant.0.weight": torch.randn(512, 512), "conv_variant.2.bias": torch.randn(128)}
    state = {
        f"module.encoder_{branch}.{key}": value for branch in "qk" for key, value in (trunk | heads).items()
    }
    return {"epoch": 200, "state_dict": state | {"module.queue_inv": torch.randn(128, 8)}}


def pixpro(trunk):
    """zdaxie/PixPro's layout: model -> module.encoder., with an argparse Namespace beside it."""
    model = {f"module.encoder.{key}": value for key, value in trunk.items()}
    return {"opt": argparse.Namespace(epochs=100), "model": model | {"module.projector.w": torch.randn(2)}}


def save(tmp_path, checkpoint, name="ckpt.pth.tar"):
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def test_torchvision_export_loads_into_resnet18_with_only_fc_missing(tmp_path):
    out = tmp_path / "out" / "backbone.pth"
    report = export(save(tmp_path, liftedcl(TRUNK)), "torchvision", out)
    assert report.format == "liftedcl" and report.arch == "resnet18"
    state = torch.load(out, weights_only=True)
    model = torchvision.models.resnet18()
    result = model.load_state_dict(state, strict=False)
    assert sorted(result.missing_keys) == ["fc.bias", "fc.weight"] and result.unexpected_keys == []
    assert all(torch.equal(model.state_dict()[key], TRUNK[key]) for key in TRUNK)


def test_torchvision_export_imports_back_with_the_same_checksum(tmp_path):
    out = tmp_path / "backbone.pth"
    report = export(save(tmp_path, pixpro(TRUNK)), "torchvision", out)
    _, again = import_backbone(out)
    assert again.format == "torchvision" and again.checksum == report.checksum


def test_mmpose_export_has_backbone_prefixed_keys_under_state_dict(tmp_path):
    out = tmp_path / "mmpose.pth"
    export(save(tmp_path, liftedcl(TRUNK)), "mmpose", out)
    saved = torch.load(out, weights_only=True)
    assert set(saved) == {"state_dict", "meta"}
    assert saved["meta"]["format"] == "liftedcl" and saved["meta"]["arch"] == "resnet18"
    assert saved["state_dict"].keys() == {"backbone." + key for key in TRUNK}
    assert all(torch.equal(saved["state_dict"]["backbone." + key], TRUNK[key]) for key in TRUNK)


def test_mmengine_loads_the_mmpose_export_both_documented_ways(tmp_path):
    """init_cfg Pretrained with prefix='backbone.' on the backbone, and load_from on the whole model.

    mmpose's ResNet has torchvision's parameter names (conv1, bn1, layer1..4, downsample.0/1), so a
    torchvision resnet18 stands in for it here: importing mmpose.models needs mmdet.
    """
    pytest.importorskip("mmengine")
    from mmengine.model.weight_init import PretrainedInit
    from mmengine.runner.checkpoint import load_checkpoint

    out = tmp_path / "mmpose.pth"
    export(save(tmp_path, liftedcl(TRUNK)), "mmpose", out)
    backbone = torchvision.models.resnet18()
    PretrainedInit(checkpoint=str(out), prefix="backbone.")(backbone)
    assert all(torch.equal(backbone.state_dict()[key], TRUNK[key]) for key in TRUNK)

    pose_model = nn.Module()
    pose_model.backbone = torchvision.models.resnet18()
    pose_model.head = nn.Conv2d(512, 17, 1)
    load_checkpoint(pose_model, str(out), map_location="cpu")
    assert all(torch.equal(pose_model.backbone.state_dict()[key], TRUNK[key]) for key in TRUNK)

    # The pitfall the module documents: without prefix, no key matches and the backbone stays random.
    untouched = torchvision.models.resnet18()
    before = {key: value.clone() for key, value in untouched.state_dict().items()}
    PretrainedInit(checkpoint=str(out))(untouched)
    assert all(torch.equal(untouched.state_dict()[key], before[key]) for key in before)


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    source = save(tmp_path, liftedcl(TRUNK))
    out = tmp_path / "exports" / "backbone.pth"
    out.parent.mkdir()
    out.write_bytes(b"previous")

    def broken_save(payload, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export(source, "torchvision", out)
    assert out.read_bytes() == b"previous"
    assert [path.name for path in out.parent.iterdir()] == ["backbone.pth"]


def test_export_refuses_bad_targets_and_overwriting_its_input(tmp_path):
    source = save(tmp_path, liftedcl(TRUNK))
    with pytest.raises(SuiteError, match="unknown export target 'detectron2'"):
        export(source, "detectron2", tmp_path / "out.pkl")
    with pytest.raises(SuiteError, match="overwrite the checkpoint"):
        export(source, "torchvision", source)
    assert import_backbone(source)[1].format == "liftedcl"
    with pytest.raises(SuiteError, match="not found") as error:
        export(tmp_path / "absent.pth", "mmpose", tmp_path / "out.pth")
    assert error.value.path == tmp_path / "absent.pth"
    assert not (tmp_path / "out.pth").exists()


def test_export_verb_prints_the_load_report_and_writes_the_file(tmp_path, capsys):
    from suite.cli import main

    source = tmp_path / "supervised.pth"
    torch.save(torchvision.models.resnet18().state_dict(), source)
    out = tmp_path / "backbone.pth"
    assert main(["export", str(source), "--to", "torchvision", "--out", str(out)]) == 0
    assert "LOAD REPORT" in capsys.readouterr().out
    missing = torchvision.models.resnet18().load_state_dict(torch.load(out, weights_only=True), strict=False)
    assert set(missing.missing_keys) == {"fc.weight", "fc.bias"} and not missing.unexpected_keys
