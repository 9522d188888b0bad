"""Importers: synthetic checkpoints in each official key layout, built from a random torchvision ResNet."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import pytest
import torch
import torchvision

from suite.checkpoints.importers import (
    FORMATS,
    CheckpointRefused,
    import_backbone,
    import_checkpoint,
    infer_arch,
)
from suite.errors import SuiteError

FC = ["fc.bias", "fc.weight"]


def random_resnet(arch: str = "resnet18", seed: int = 0) -> dict[str, torch.Tensor]:
    """A torchvision ResNet state dict (with fc) whose every tensor, BN statistics included, is random."""
    torch.manual_seed(seed)
    state = getattr(torchvision.models, arch)().state_dict()
    return {
        key: torch.randint(0, 100, value.shape) if value.dtype == torch.long else torch.randn(value.shape)
        for key, value in state.items()
    }


def trunk_of(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value for key, value in state.items() if not key.startswith("fc.")}


def prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + key: value for key, value in state.items()}


def noisy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value + 1 if value.is_floating_point() else value for key, value in state.items()}


def moco(trunk, module="module.", fpn=False):
    """facebookresearch/moco main_moco.py with --mlp: encoder_q/encoder_k with fc.0/fc.2, queue."""
    head = {"fc.0.weight": torch.randn(512, 512), "fc.0.bias": torch.randn(512)}
    head |= {"fc.2.weight": torch.randn(128, 512), "fc.2.bias": torch.randn(128)}
    if fpn:  # ReSim's ResNet builds FPN convs inside the encoder (moco/models.py)
        for level, channels in zip((5, 4, 3), (512, 256, 128), strict=True):
            head |= {
                f"fpn_lateral{level}.weight": torch.randn(256, channels, 1, 1),
                f"fpn_lateral{level}.bias": torch.randn(256),
            }
        for level in (4, 3):
            head |= {
                f"fpn_output{level}.weight": torch.randn(256, 256, 3, 3),
                f"fpn_output{level}.bias": torch.randn(256),
            }
    state = prefixed(f"{module}encoder_q.", trunk | head) | prefixed(
        f"{module}encoder_k.", noisy(trunk | head)
    )
    state |= {f"{module}queue": torch.randn(128, 64), f"{module}queue_ptr": torch.zeros(1, dtype=torch.long)}
    optimizer = {"state": {}, "param_groups": [{"lr": 0.03, "momentum": 0.9, "params": [0, 1]}]}
    return {"epoch": 200, "arch": "resnet18", "state_dict": state, "optimizer": optimizer}


def liftedcl(trunk, container=True):
    """RichardChen20/LiftedCL train_adv.py: encoder_q with the invariant, equivariant and lifting heads."""
    head = {"mlp_invariant.0.weight": torch.randn(512, 512), "mlp_invariant.2.weight": torch.randn(128, 512)}
    head |= {"conv_variant.0.weight": torch.randn(512, 512, 1, 1), "conv_variant.2.bias": torch.randn(128)}
    head |= {
        "lifting.linear.0.weight": torch.randn(512, 512),
        "lifting.res_1.model.0.weight": torch.randn(512, 512),
    }
    head |= {"lifting.final.weight": torch.randn(51, 512), "lifting.final.bias": torch.randn(51)}
    state = prefixed("module.encoder_q.", trunk | head) | prefixed("module.encoder_k.", noisy(trunk | head))
    state |= {"module.queue_inv": torch.randn(128, 64), "module.queue_var": torch.randn(128, 64)}
    state |= {"module.queue_ptr": torch.zeros(1, dtype=torch.long)}
    return {"epoch": 200, "arch": "resnet50", "state_dict": state, "optimizer_G": {}} if container else state


def pixpro(trunk):
    """zdaxie/PixPro: `model` with module.encoder (online), encoder_k, projector(s), value_transform; opt."""
    head = {
        "projector.linear1.weight": torch.randn(512, 512, 1, 1),
        "projector.bn1.running_mean": torch.randn(512),
    }
    head |= {"projector_k.linear2.weight": torch.randn(256, 512, 1, 1)}
    head |= {"value_transform.conv1.weight": torch.randn(256, 256, 1, 1)}
    model = (
        prefixed("module.encoder.", trunk)
        | prefixed("module.encoder_k.", noisy(trunk))
        | prefixed("module.", head)
    )
    opt = argparse.Namespace(arch="resnet18", epochs=100, pixpro_t=0.7, output_dir="./output")
    return {"opt": opt, "model": model, "optimizer": {}, "scheduler": {}, "epoch": 100}


def densecl_raw(trunk):
    """OpenSelfSup's mmcv checkpoint: encoder_q.0 (backbone), its alias backbone., necks, two queues."""
    neck = {"mlp.0.weight": torch.randn(512, 512), "mlp2.0.weight": torch.randn(512, 512, 1, 1)}
    state = prefixed("encoder_q.0.", trunk) | prefixed("encoder_q.1.", neck) | prefixed("backbone.", trunk)
    state |= prefixed("encoder_k.0.", noisy(trunk)) | prefixed("encoder_k.1.", neck)
    state |= {"queue": torch.randn(128, 64), "queue_ptr": torch.zeros(1, dtype=torch.long)}
    state |= {"queue2": torch.randn(128, 64), "queue2_ptr": torch.zeros(1, dtype=torch.long)}
    meta = {"mmcv_version": "0.4.3", "time": "Sat Dec 26 2020", "epoch": 200, "iter": 100000}
    return {"meta": meta, "state_dict": state, "optimizer": {}}


def timm_train(full):
    """timm's train.py (utils/checkpoint_saver.py): arch, the model's state_dict with fc, args, its EMA."""
    args = argparse.Namespace(model="resnet18", epochs=100, lr=0.5, model_ema=True)
    return {
        "epoch": 99,
        "arch": "resnet18",
        "state_dict": full,
        "optimizer": {"state": {}, "param_groups": []},
        "version": 2,
        "args": args,
        "state_dict_ema": noisy(full),
        "metric": 71.2,
    }


def solo_learn(trunk, prefix="backbone."):
    """vturrisi/solo-learn's Lightning checkpoint of a momentum method (BYOL): backbone, projector,
    predictor, momentum_backbone, momentum_projector and the online linear classifier."""
    head = {"projector.0.weight": torch.randn(64, 512), "projector.3.weight": torch.randn(32, 64)}
    head |= {"predictor.0.weight": torch.randn(64, 32), "classifier.weight": torch.randn(10, 512)}
    head |= {"classifier.bias": torch.randn(10)}
    state = prefixed(prefix, trunk) | head | prefixed(f"momentum_{prefix}", noisy(trunk))
    state |= {"momentum_projector.0.weight": torch.randn(64, 512)}
    return {
        "epoch": 399,
        "global_step": 40000,
        "pytorch-lightning_version": "2.0.2",
        "state_dict": state,
        "loops": {},
        "callbacks": {},
        "optimizer_states": [{"state": {}, "param_groups": []}],
        "lr_schedulers": [{"last_epoch": 399}],
    }


def mmpretrain(trunk):
    """MMPretrain / MMSelfSup (mmengine's runner): meta, and the whole model under state_dict: the mmcv
    ResNet under backbone., the neck, the head, the momentum encoder and the data preprocessor."""
    state = prefixed("backbone.", trunk)
    state |= {"neck.mlp.0.weight": torch.randn(64, 512), "head.predictor.0.weight": torch.randn(32, 64)}
    state |= prefixed("target_net.module.0.", noisy(trunk))
    state |= {"data_preprocessor.mean": torch.randn(3, 1, 1), "data_preprocessor.std": torch.rand(3, 1, 1)}
    meta = {"epoch": 200, "iter": 250200, "mmengine_version": "0.7.3", "experiment_name": "mocov2_r18"}
    return {"meta": meta, "state_dict": state, "message_hub": {}, "optimizer": {}}


def vissl(trunk):
    """facebookresearch/vissl: classy_state_dict -> base_model -> model -> trunk (_feature_blocks.)
    and heads, beside the loss, the optimizer and the phase."""
    heads = {"0.projection_head.0.weight": torch.randn(64, 512), "0.prototypes0.weight": torch.randn(30, 64)}
    model = {"trunk": prefixed("_feature_blocks.", trunk), "heads": heads}
    base_model = {"model": model, "meta": {"trunk": {}, "heads": {}}}
    classy = {"base_model": base_model, "optimizer": {}, "train_phase_idx": 99}
    return {"phase_idx": 199, "iteration_num": 50000, "type": "checkpoint", "classy_state_dict": classy}


def suite_checkpoint(trunk, version=1):
    return {
        "format": "suite-pretrain",
        "version": version,
        "method": "liftedcl",
        "backbone": trunk,
        "step": 7,
    }


FULL = random_resnet()
TRUNK = trunk_of(FULL)

LAYOUTS = {
    "moco": moco(TRUNK),
    "moco-unwrapped": moco(TRUNK, module=""),
    "liftedcl": liftedcl(TRUNK),
    "liftedcl-bare": liftedcl(TRUNK, container=False),
    "resim": moco(TRUNK, fpn=True),
    "pixpro": pixpro(TRUNK),
    "densecl": {"state_dict": TRUNK, "author": "DenseCL"},
    "densecl-raw": densecl_raw(TRUNK),
    "torchvision": FULL,
    "torchvision-trunk": TRUNK,
    "suite": suite_checkpoint(TRUNK),
    "timm": timm_train(FULL),
    "solo-learn": solo_learn(TRUNK),
    "solo-learn-encoder": solo_learn(TRUNK, prefix="encoder."),
    "mmpretrain": mmpretrain(TRUNK),
    "mmpretrain-mmpose-export": {"state_dict": prefixed("backbone.", TRUNK), "meta": {"format": "moco"}},
    "vissl": vissl(TRUNK),
}
WITH_CLASSIFIER = ("torchvision", "timm")


def format_of(layout: str) -> str:
    """The format a layout is in: its name up to a variant ("densecl-raw": densecl)."""
    return max((name for name in FORMATS if layout == name or layout.startswith(name + "-")), key=len)


def save(tmp_path: Path, checkpoint, name: str = "ckpt.pth.tar") -> Path:
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_recovers_the_original_tensors(tmp_path, layout):
    state, report = import_backbone(save(tmp_path, LAYOUTS[layout]))
    assert report.format == format_of(layout)
    assert state.keys() == TRUNK.keys()
    assert all(torch.equal(state[key], TRUNK[key]) for key in TRUNK)
    assert report.arch == "resnet18"
    assert report.matched == len(FULL if layout in WITH_CLASSIFIER else TRUNK)
    assert report.missing == ([] if layout in WITH_CLASSIFIER else FC)
    assert report.unexpected == [] and report.mismatched == [] and report.ok


def test_every_format_is_covered():
    assert {format_of(layout) for layout in LAYOUTS} == set(FORMATS)


def test_report_names_what_was_dropped_and_checksums_the_trunk(tmp_path):
    _, report = import_backbone(save(tmp_path, LAYOUTS["liftedcl"]))
    assert report.dropped == {
        "encoder_q.mlp_invariant": 2,
        "encoder_q.conv_variant": 2,
        "encoder_q.lifting": 4,
        "encoder_k": len(TRUNK) + 8,
        "queue_inv": 1,
        "queue_var": 1,
        "queue_ptr": 1,
    }
    assert "`module.` prefix stripped" in report.notes
    _, same = import_backbone(save(tmp_path, LAYOUTS["densecl"], "other.pth"))
    assert same.checksum == report.checksum
    changed = dict(TRUNK, **{"bn1.bias": TRUNK["bn1.bias"] + 1})
    assert import_checkpoint({"state_dict": changed})[1].checksum != report.checksum
    text = str(report)
    assert "LOAD REPORT" in text and "liftedcl" in text and "fc.bias, fc.weight" in text and "OK" in text


def test_resnet50_keys_and_shapes():
    full = random_resnet("resnet50")
    state, report = import_checkpoint(moco(trunk_of(full)))
    assert report.arch == "resnet50" and report.missing == FC and report.ok
    assert state["layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    assert all(torch.equal(state[key], full[key]) for key in state)


@pytest.mark.parametrize(
    ("arch", "expected"),
    [
        ("resnet18", "resnet18"),
        ("resnet34", "resnet34"),
        ("resnet50", "resnet50"),
        ("resnet101", "resnet101"),
    ],
)
def test_arch_is_inferred_from_the_keys(arch, expected):
    with torch.device("meta"):
        keys = getattr(torchvision.models, arch)().state_dict()
    assert infer_arch(keys) == expected


def test_unsupported_depth_is_refused():
    with torch.device("meta"):
        keys = torchvision.models.resnet152().state_dict()
    with pytest.raises(SuiteError, match=r"bottleneck blocks per stage \(3, 8, 36, 3\)"):
        infer_arch(keys)


def test_an_extra_backbone_key_is_refused_by_name(tmp_path):
    checkpoint = moco(TRUNK)
    checkpoint["state_dict"]["module.encoder_q.extra_head.weight"] = torch.randn(3)
    with pytest.raises(SuiteError, match=r"unexpected keys: extra_head\.weight") as error:
        import_backbone(save(tmp_path, checkpoint))
    assert error.value.path == tmp_path / "ckpt.pth.tar"


def test_a_missing_backbone_key_is_refused_by_name(tmp_path):
    checkpoint = pixpro(TRUNK)
    del checkpoint["model"]["module.encoder.layer2.1.bn2.running_var"]
    with pytest.raises(
        CheckpointRefused, match=r"backbone keys missing: layer2\.1\.bn2\.running_var"
    ) as error:
        import_backbone(save(tmp_path, checkpoint))
    assert error.value.report.missing == ["fc.bias", "fc.weight", "layer2.1.bn2.running_var"]
    assert not error.value.report.ok and error.value.path == tmp_path / "ckpt.pth.tar"


def test_a_shape_mismatch_is_refused_by_name(tmp_path):
    checkpoint = {"state_dict": dict(TRUNK, **{"layer3.0.conv1.weight": torch.randn(256, 128, 1, 1)})}
    with pytest.raises(
        SuiteError, match=r"layer3\.0\.conv1\.weight \(256, 128, 1, 1\) vs \(256, 128, 3, 3\)"
    ):
        import_backbone(save(tmp_path, checkpoint))


def test_a_classifier_where_none_belongs_is_refused():
    checkpoint = {"state_dict": FULL}  # DenseCL's extracted backbone has no fc
    with pytest.raises(SuiteError, match=r"expected to be missing are present: fc\.bias, fc\.weight"):
        import_checkpoint(checkpoint)


def test_unknown_format_lists_the_keys_found_and_the_formats(tmp_path):
    checkpoint = {"net": {"stem.weight": torch.randn(2), "head.bias": torch.randn(2)}, "epoch": 3}
    with pytest.raises(SuiteError) as error:
        import_backbone(save(tmp_path, checkpoint))
    message = str(error.value)
    assert "unknown checkpoint format" in message and str(tmp_path / "ckpt.pth.tar") in message
    assert "'net': {stem.weight, head.bias}" in message and "'epoch': int" in message
    assert all(f"{name}: " in message for name in FORMATS)


def test_expected_format_that_does_not_match_is_refused(tmp_path):
    with pytest.raises(SuiteError, match=r"not a moco checkpoint .* it looks like pixpro"):
        import_backbone(save(tmp_path, LAYOUTS["pixpro"]), expected_format="moco")
    with pytest.raises(SuiteError, match=r"not a suite checkpoint .* it looks like moco"):
        import_checkpoint(LAYOUTS["moco"], expected_format="suite")
    with pytest.raises(
        SuiteError, match=r"(?s)unknown checkpoint format 'mocov3'.*use one of suite, liftedcl"
    ):
        import_backbone(save(tmp_path, LAYOUTS["moco"]), expected_format="mocov3")


def test_resim_without_fpn_keys_reads_as_moco_unless_named():
    checkpoint = moco(TRUNK)
    assert import_checkpoint(checkpoint)[1].format == "moco"
    assert import_checkpoint(checkpoint, expected_format="resim")[1].format == "resim"


def test_suite_checkpoint_of_another_version_is_refused():
    with pytest.raises(SuiteError, match="version 2"):
        import_checkpoint(suite_checkpoint(TRUNK, version=2))
    finetuned = {"format": "suite-finetune-model", "version": 2, "task": "h36m-3d", "backbone": TRUNK}
    with pytest.raises(SuiteError, match="suite-finetune-model checkpoint of version 2"):
        import_checkpoint(finetuned)


def test_truncated_or_missing_file_is_named(tmp_path):
    path = save(tmp_path, LAYOUTS["moco"])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SuiteError, match="truncated or corrupt") as error:
        import_backbone(path)
    assert error.value.path == path
    with pytest.raises(SuiteError, match="not found") as error:
        import_backbone(tmp_path / "absent.pth")
    assert error.value.path == tmp_path / "absent.pth"


def test_non_tensor_objects_need_trust(tmp_path):
    checkpoint = dict(LAYOUTS["moco"], saved_at=datetime.datetime(2021, 3, 1))
    path = save(tmp_path, checkpoint)
    with pytest.raises(SuiteError, match=r"(?s)not tensors \(datetime\.datetime\).*trust=True") as error:
        import_backbone(path)
    assert error.value.path == path
    state, report = import_backbone(path, trust=True)
    assert report.format == "moco" and torch.equal(state["conv1.weight"], TRUNK["conv1.weight"])


def test_the_new_layouts_name_what_they_dropped(tmp_path):
    _, solo = import_backbone(save(tmp_path, LAYOUTS["solo-learn"], "solo.ckpt"))
    assert solo.dropped == {
        "projector": 2,
        "predictor": 1,
        "classifier": 2,
        "momentum_backbone": len(TRUNK),
        "momentum_projector": 1,
    }
    _, mm = import_backbone(save(tmp_path, LAYOUTS["mmpretrain"], "mm.pth"))
    assert mm.dropped == {"neck": 1, "head": 1, "target_net": len(TRUNK), "data_preprocessor": 2}
    assert solo.checksum == mm.checksum


def test_timm_resnet50_bare_weights_read_as_torchvision_and_its_train_checkpoint_as_timm(tmp_path):
    """timm's ResNet-50 has torchvision's names (conv1, bn1, layer1..4 with downsample.0/1, fc): its
    weights file is the torchvision layout; its train.py checkpoint is detected by "arch"."""
    full = random_resnet("resnet50", seed=1)
    bare, report = import_backbone(save(tmp_path, full, "resnet50_a1_in1k.pth"))
    assert (report.format, report.arch, report.missing) == ("torchvision", "resnet50", [])
    assert "classifier fc.weight, fc.bias left out of the returned trunk" in report.notes
    trained, again = import_backbone(save(tmp_path, timm_train(full), "model_best.pth.tar"))
    assert (again.format, again.arch) == ("timm", "resnet50") and again.checksum == report.checksum
    assert trained.keys() == bare.keys() == trunk_of(full).keys()
    assert all(torch.equal(trained[key], full[key]) for key in trained)


def test_a_safetensors_file_reads_as_its_layout_with_the_same_tensors(tmp_path):
    """The hub's model.safetensors of a timm or torchvision ResNet: the same trunk and checksum as the
    torch.save file of the same weights; a file cut short is named, not mistaken for a pickle."""
    from safetensors.torch import save_file

    full = random_resnet("resnet18", seed=2)
    _, pickled = import_backbone(save(tmp_path, full, "resnet18.pth"))
    save_file(full, tmp_path / "model.safetensors", metadata={"format": "pt"})
    state, report = import_backbone(tmp_path / "model.safetensors")
    assert (report.format, report.arch, report.checksum) == ("torchvision", "resnet18", pickled.checksum)
    assert state.keys() == trunk_of(full).keys() and all(torch.equal(state[k], full[k]) for k in state)
    (tmp_path / "named.pth").write_bytes((tmp_path / "model.safetensors").read_bytes())  # any name
    assert import_backbone(tmp_path / "named.pth")[1].checksum == pickled.checksum
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((tmp_path / "model.safetensors").read_bytes()[:5000])
    with pytest.raises(SuiteError, match="safetensors file, it is truncated or corrupt") as error:
        import_backbone(cut)
    assert error.value.path == cut


def test_a_cifar_resnet_from_solo_learn_is_refused_with_its_load_report(tmp_path):
    """solo-learn's CIFAR ResNets swap conv1 for a 3x3 convolution: not the trunk the tables fine-tune."""
    cifar = dict(TRUNK, **{"conv1.weight": torch.randn(64, 3, 3, 3)})
    with pytest.raises(CheckpointRefused, match=r"conv1\.weight \(64, 3, 3, 3\) vs \(64, 3, 7, 7\)") as error:
        import_backbone(save(tmp_path, solo_learn(cifar), "cifar.ckpt"))
    report = error.value.report
    assert report.format == "solo-learn" and not report.ok
    assert "LOAD REPORT" in str(error.value) and "REFUSED" in str(error.value)


def test_solo_learn_without_its_lightning_key_reads_as_mmpretrain_unless_named():
    checkpoint = {"state_dict": solo_learn(TRUNK)["state_dict"]}
    assert import_checkpoint(checkpoint)[1].format == "mmpretrain"
    state, report = import_checkpoint(checkpoint, expected_format="solo-learn")
    assert report.format == "solo-learn" and torch.equal(state["conv1.weight"], TRUNK["conv1.weight"])


def test_a_vissl_trunk_missing_a_block_is_refused_by_name(tmp_path):
    checkpoint = vissl(TRUNK)
    trunk = checkpoint["classy_state_dict"]["base_model"]["model"]["trunk"]
    del trunk["_feature_blocks.layer4.1.conv2.weight"]
    with pytest.raises(CheckpointRefused, match=r"backbone keys missing: layer4\.1\.conv2\.weight"):
        import_backbone(save(tmp_path, checkpoint, "model_final_checkpoint_phase199.torch"))
