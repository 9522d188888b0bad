"""Importers of official pre-training checkpoints to a plain torchvision ResNet state dict.

One importer per format, in a small registry. Each says where its backbone sits in the file
(a top-level key or a path of nested keys, then a key prefix), which method heads it drops, and how
to recognise it.
`import_backbone(path)` detects the format, renames the backbone to torchvision's names, loads it
into a fresh torchvision ResNet of the depth its keys imply (strict=False) and returns the state
dict with a LOAD REPORT. It refuses unless exactly fc.weight and fc.bias are missing (nothing for
supervised torchvision weights, which carry their classifier), nothing is unexpected and no shape
differs. The returned state dict never holds fc: it is the trunk ResNetTrunk loads strictly.

Layouts (shared/reference/pretraining-methods.md; a leading `module.` is stripped from every key
first, so DDP-wrapped and unwrapped saves read alike, moco issue #84):
  suite     {"format": "suite-pretrain", "version": 1, "method", "backbone": torchvision names}, or a
            fine-tuned model {"format": "suite-finetune-model", "version": 1, "task", "backbone"}
  liftedcl  state_dict (or the bare dict saved every 50 epochs) -> encoder_q.; drops
            mlp_invariant, conv_variant, lifting (§1.9)
  resim     MoCo's main_moco.py layout: state_dict -> encoder_q.; drops fc.0/fc.2 and the FPN
            convs fpn_lateral{3,4,5}, fpn_output{3,4} that ReSim's ResNet builds (Tete-Xiao/ReSim
            moco/models.py, main_moco.py, detection/convert-pretrain-to-detectron2.py). Detected by
            the fpn_ keys; a ReSim file without them reads as moco unless expected_format="resim".
            The "Detectron Backbone" downloads are detectron2 pickles, not supported.
  moco      state_dict -> encoder_q.; drops fc.* (the v2 MLP fc.0/fc.2 or the v1 fc) (§2.4)
  pixpro    model -> encoder. (not encoder_q); opt is an argparse Namespace (§3.6)
  timm      timm's train.py checkpoint (timm/utils/checkpoint_saver.py): {"epoch", "arch", "state_dict":
            torchvision names with fc, "optimizer", "version", "args", "state_dict_ema"}; the trained
            state_dict is read (not the EMA). Detected by "arch" beside a state_dict of bare names. A
            timm ResNet's own weights file (`timm.create_model("resnet50").state_dict()`, the hub's
            pytorch_model.bin) is a bare state dict under torchvision's names: the torchvision importer
            reads it, as the same layout, from a .pth/.bin or from the hub's model.safetensors.
  densecl   the extracted {state_dict: bare torchvision names, author} of
            tools/extract_backbone_weights.py, or the raw OpenSelfSup checkpoint whose state_dict
            holds backbone. (used) and its alias encoder_q.0. (ignored) (§4.4). Detected by that alias
            or by bare names; a state_dict of backbone. keys alone reads as mmpretrain, the same result.
  solo-learn  a PyTorch Lightning checkpoint of solo-learn: {"epoch", "global_step",
            "pytorch-lightning_version", "state_dict": backbone. (older releases: encoder.) + projector,
            momentum_backbone, momentum_projector, classifier (the online linear probe)}. Detected by
            the Lightning version key. Its CIFAR ResNets (3x3 conv1) are refused by shape.
  mmpretrain  MMPretrain / MMSelfSup (OpenMMLab): {"meta", "state_dict": backbone. + neck., head.,
            target_net. / momentum encoders, data_preprocessor.}; mmcv's ResNet has torchvision's names
            (conv1, bn1, layer1.0.conv1, downsample.0/1). suite's mmpose export has this layout too.
  vissl     VISSL: classy_state_dict -> base_model -> model -> trunk -> _feature_blocks. (its ResNe(X)t
            trunk wraps torchvision's modules under those names); the heads sit beside the trunk
  torchvision  a bare state dict with torchvision names: supervised ImageNet weights with fc, or a
            trunk without it (what `suite export --to torchvision` writes); timm's ResNet weights too

Files are read with torch.load(weights_only=True), allowing argparse.Namespace (an attribute bag,
PixPro's `opt`). Anything else that is not tensors or plain containers needs trust=True. A safetensors
file (Hugging Face's format: the hub's model.safetensors, timm's and others' weight files) is a flat
dict of tensors without code, read as such whatever its name and then detected like any other.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
import torchvision
from torch import Tensor

from suite.checkpoints.formats import FORMATS, MODEL_FORMAT, MODEL_VERSION, PRETRAIN_FORMAT, PRETRAIN_VERSION
from suite.errors import SuiteError
from suite.models.backbone import ARCHS

StateDict = dict[str, Tensor]
FC = ("fc.bias", "fc.weight")
SAFE_GLOBALS = [argparse.Namespace]


@dataclass
class LoadReport:
    """What an import loaded into which torchvision ResNet, and what it left out."""

    path: str
    format: str
    arch: str
    matched: int
    missing: list[str]
    unexpected: list[str]
    mismatched: list[tuple[str, list[int], list[int]]]  # (key, shape in the file, shape torchvision wants)
    expected_missing: list[str]
    dropped: dict[str, int] = field(default_factory=dict)  # key groups left out: heads, key encoder, queues
    checksum: str = ""  # sha256 of the returned tensors (names, dtypes, shapes, bytes)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            sorted(self.missing) == sorted(self.expected_missing)
            and not self.unexpected
            and not self.mismatched
        )

    def __str__(self) -> str:
        mismatched = [f"{key} {tuple(got)} vs {tuple(want)}" for key, got, want in self.mismatched]
        dropped = ", ".join(f"{group} ({n})" for group, n in sorted(self.dropped.items())) or "none"
        lines = [
            f"LOAD REPORT {self.path}",
            f"  format      {self.format}",
            f"  arch        torchvision {self.arch}",
            f"  matched     {self.matched} tensors",
            f"  missing     {_brief(self.missing)} (expected: {_brief(self.expected_missing)})",
            f"  unexpected  {_brief(self.unexpected)}",
            f"  mismatched  {_brief(mismatched)}",
            f"  dropped     {dropped}",
            f"  checksum    sha256:{self.checksum[:16]}",
            *(f"  note        {note}" for note in self.notes),
            f"  verdict     {'OK' if self.ok else 'REFUSED'}",
        ]
        return "\n".join(lines)


def _brief(items: list[str], limit: int = 8) -> str:
    if not items:
        return "none"
    more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


class CheckpointRefused(SuiteError):
    """The checkpoint was read but does not load cleanly; `report` says what did not fit."""

    def __init__(self, report: LoadReport, path: str | Path | None = None):
        super().__init__(_refusal(report), path, _REFUSAL_FIX)
        self.report = report


@dataclass(frozen=True)
class Importer:
    """One official layout: where the backbone sits, which heads to drop, how to recognise it."""

    name: str
    source: str  # the layout in words, shown in errors
    # where the state dict is: a top-level key, a path of nested keys (VISSL), or None: the file is one
    containers: tuple[str | tuple[str, ...] | None, ...]
    prefixes: tuple[str, ...]  # backbone key prefixes (after `module.` is stripped); the first present
    markers: tuple[str, ...]  # key prefixes (after the container, `module.` stripped) that identify it
    heads: tuple[str, ...] = ()  # method heads under the backbone prefix, dropped
    keeps_fc: bool = False  # the backbone may carry torchvision's classifier (supervised weights)
    requires: tuple[str, ...] = ()  # top-level keys the file holds besides its container, to match

    def raw(self, checkpoint: Mapping[str, Any]) -> Mapping[str, Tensor] | None:
        """The state dict as stored in the file, or None where this layout's container is absent."""
        for container in self.containers:
            value = _at(checkpoint, container)
            if _is_state_dict(value):
                return value
        return None

    def state(self, checkpoint: Mapping[str, Any]) -> dict[str, Tensor] | None:
        raw = self.raw(checkpoint)
        return None if raw is None else _strip_module(raw)

    def matches(self, checkpoint: Mapping[str, Any]) -> bool:
        if not all(key in checkpoint for key in self.requires):
            return False
        state = self.state(checkpoint)
        return state is not None and any(key.startswith(self.markers) for key in state)

    def accepts(self, checkpoint: Mapping[str, Any]) -> bool:
        """Looser than matches, for a format the user names: the backbone's stem is where it belongs."""
        state = self.state(checkpoint)
        return state is not None and any(key.startswith(self.prefixes[0] + "conv1.") for key in state)

    def convert(self, checkpoint: Mapping[str, Any]) -> tuple[StateDict, dict[str, int]]:
        """The backbone under torchvision names, and the groups of keys left out (with counts)."""
        state = self.state(checkpoint) or {}
        prefix = next(p for p in self.prefixes if any(key.startswith(p) for key in state))
        backbone: StateDict = {}
        dropped: Counter[str] = Counter()
        for key, value in state.items():
            name = key[len(prefix) :]
            if not key.startswith(prefix):
                dropped[key.split(".")[0]] += 1  # key encoder, queues, necks, aliases
            elif name.startswith(self.heads):
                dropped[prefix + name.split(".")[0]] += 1
            else:
                backbone[name] = value
        return backbone, dict(dropped)

    def expected_missing(self, backbone: StateDict) -> tuple[str, ...]:
        return () if self.keeps_fc and "fc.weight" in backbone else FC

    def describe(self, checkpoint: Mapping[str, Any]) -> str | None:
        """What the file says about its own training, for the load report (None: nothing)."""
        return None


class SuiteFile(Importer):
    """Our own files, the backbone stored under torchvision names (fc removed): a pre-training's
    checkpoint, or a fine-tuned model (its trunk after the task, to start another task from)."""

    VERSIONS: ClassVar[dict[str, int]] = {PRETRAIN_FORMAT: PRETRAIN_VERSION, MODEL_FORMAT: MODEL_VERSION}

    def matches(self, checkpoint: Mapping[str, Any]) -> bool:
        return checkpoint.get("format") in self.VERSIONS

    def accepts(self, checkpoint: Mapping[str, Any]) -> bool:
        return self.matches(checkpoint)

    def raw(self, checkpoint: Mapping[str, Any]) -> Mapping[str, Tensor] | None:
        kind, version = checkpoint.get("format"), checkpoint.get("version")
        if version != self.VERSIONS[kind]:
            raise SuiteError(
                f"{kind} checkpoint of version {version!r}; this suite reads version {self.VERSIONS[kind]}",
                fix="export it with the suite version that wrote it, or re-run what wrote it",
            )
        return checkpoint.get("backbone") if _is_state_dict(checkpoint.get("backbone")) else None

    def describe(self, checkpoint: Mapping[str, Any]) -> str:
        """The method that pre-trained it, or the task it was fine-tuned on."""
        if checkpoint.get("format") == PRETRAIN_FORMAT:
            return f"method {checkpoint.get('method')!r}"
        return f"fine-tuned on {checkpoint.get('task')!r} (from {checkpoint.get('init') or 'random init'})"


def _at(checkpoint: Mapping[str, Any], container: str | tuple[str, ...] | None) -> Any:
    """The value a container names: the file itself, one top-level key, or a path of nested keys."""
    path = () if container is None else (container,) if isinstance(container, str) else container
    value: Any = checkpoint
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, Tensor) for v in value.values())


def _strip_module(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop a leading `module.` (DistributedDataParallel) from every key."""
    stripped = {re.sub(r"^module\.", "", key): value for key, value in state.items()}
    if len(stripped) != len(state):
        raise SuiteError("the state dict holds the same key with and without `module.`")
    return stripped


# Detection tries these in order and takes the first that matches: the specific MoCo descendants
# (LiftedCL, ReSim) before MoCo itself; timm's (its "arch") before DenseCL's extracted bare names;
# DenseCL's raw file (its encoder_q.0 alias) and solo-learn's (its Lightning key) before the plain
# backbone. prefix of OpenMMLab; the bare layouts last.
IMPORTERS: tuple[Importer, ...] = (
    SuiteFile(
        "suite",
        'suite pre-training or fine-tuned model: {"format": "suite-pretrain" | "suite-finetune-model", '
        '"backbone": ...}',
        (),
        ("",),
        (),
    ),
    Importer(
        "liftedcl",
        "LiftedCL (RichardChen20/LiftedCL): state_dict -> module.encoder_q. + mlp_invariant/conv_variant",
        ("state_dict", None),
        ("encoder_q.",),
        ("encoder_q.mlp_invariant.", "encoder_q.conv_variant."),
        heads=("mlp_invariant.", "conv_variant.", "lifting."),
    ),
    Importer(
        "resim",
        "ReSim (Tete-Xiao/ReSim): state_dict -> module.encoder_q. + fc.0/fc.2 + fpn_lateral*/fpn_output*",
        ("state_dict", None),
        ("encoder_q.",),
        ("encoder_q.fpn_",),
        heads=("fc.", "fpn_lateral", "fpn_output"),
    ),
    Importer(
        "moco",
        "MoCo v1/v2 (facebookresearch/moco): state_dict -> module.encoder_q. (or encoder_q.) + fc.*",
        ("state_dict", None),
        ("encoder_q.",),
        ("encoder_q.conv1.",),
        heads=("fc.",),
    ),
    Importer(
        "pixpro",
        "PixPro (zdaxie/PixPro): model -> module.encoder. (+ encoder_k, projector, value_transform)",
        ("model",),
        ("encoder.",),
        ("encoder.conv1.",),
        heads=("fc.", "fc1.", "fc2."),  # contrast/resnet.py's optional heads
    ),
    Importer(
        "timm",
        'timm (huggingface/pytorch-image-models) train.py: {"arch", "state_dict": torchvision names + fc}',
        ("state_dict",),
        ("",),
        ("conv1.",),
        keeps_fc=True,
        requires=("arch",),
    ),
    Importer(
        "densecl",
        "DenseCL (WXinlong/DenseCL): state_dict -> backbone. + encoder_q.0. (raw) or bare torchvision names "
        "(extracted)",
        ("state_dict",),
        ("backbone.", "encoder_q.0.", ""),
        ("encoder_q.0.conv1.", "conv1."),
    ),
    Importer(
        "solo-learn",
        "solo-learn (vturrisi/solo-learn), a Lightning checkpoint: state_dict -> backbone. (or encoder.) "
        "+ projector, momentum_backbone, classifier",
        ("state_dict",),
        ("backbone.", "encoder."),
        ("backbone.conv1.", "encoder.conv1."),
        requires=("pytorch-lightning_version",),
    ),
    Importer(
        "mmpretrain",
        "MMPretrain / MMSelfSup (open-mmlab): state_dict -> backbone. (mmcv ResNet) + neck., head.",
        ("state_dict",),
        ("backbone.",),
        ("backbone.conv1.",),
    ),
    Importer(
        "vissl",
        "VISSL (facebookresearch/vissl): classy_state_dict -> base_model -> model -> trunk -> "
        "_feature_blocks.",
        (("classy_state_dict", "base_model", "model", "trunk"),),
        ("_feature_blocks.",),
        ("_feature_blocks.conv1.",),
    ),
    Importer(
        "torchvision",
        "torchvision: a bare state dict with torchvision ResNet names (supervised: with fc)",
        (None,),
        ("",),
        ("conv1.",),
        keeps_fc=True,
    ),
)
if FORMATS != tuple(importer.name for importer in IMPORTERS):
    raise ImportError("suite/checkpoints/formats.py FORMATS must name IMPORTERS in their order")


def read_checkpoint(path: str | Path, *, trust: bool = False) -> dict[str, Any]:
    """torch.load with weights_only=True (argparse.Namespace allowed); SuiteError naming the file."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a checkpoint file" if path.is_dir() else "checkpoint file not found"
        raise SuiteError(what, path, fix="check the path")
    if _is_safetensors(path):
        return _read_safetensors(path)
    _require_torch_file(path)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=not trust)
    except Exception as error:
        found = ", ".join(re.findall(r"GLOBAL ([\w.]+)", str(error)))
        if not trust and "Weights only load failed" in str(error) and found:
            raise SuiteError(
                f"the checkpoint holds Python objects that are not tensors ({found}); "
                "refusing to unpickle it, which could run arbitrary code",
                path,
                fix="if you trust where the file comes from, load it with trust=True (command line: --trust)",
            ) from error
        raise SuiteError(
            f"cannot be read as a PyTorch checkpoint, it is truncated or corrupt ({type(error).__name__}: "
            f"{str(error)[:200]})",
            path,
            fix="copy or download the file again and compare its size or checksum with the source",
        ) from error
    if not isinstance(checkpoint, Mapping):
        raise SuiteError(
            f"the checkpoint is a {type(checkpoint).__name__}, not a dict",
            path,
            fix="pass a file that holds a dict: a state dict, or a training checkpoint with one inside",
        )
    _require_finite(checkpoint, path)
    return dict(checkpoint)


def _is_safetensors(path: Path) -> bool:
    """The safetensors layout: an 8-byte little-endian header length, then a JSON header `{"...`."""
    with path.open("rb") as handle:
        start = handle.read(10)
    return len(start) == 10 and start[8:] == b'{"'


def _read_safetensors(path: Path) -> dict[str, Any]:
    """A safetensors file's tensors; SuiteError naming the file if it is cut short or malformed."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        checkpoint = load_file(path, device="cpu")
    except (SafetensorError, ValueError, OSError) as error:
        raise SuiteError(
            f"cannot be read as a safetensors file, it is truncated or corrupt ({type(error).__name__}: "
            f"{str(error)[:200]})",
            path,
            fix="copy or download the file again and compare its size or checksum with the source",
        ) from error
    _require_finite(checkpoint, path)
    return dict(checkpoint)


# What torch.save writes first: a zip archive (PyTorch >= 1.6), a pickle of protocol 2 or more (older
# releases, _use_new_zipfile_serialization=False), or a tar archive (before 0.1.10).
TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80")


def _require_torch_file(path: Path) -> None:
    """A SuiteError unless the file starts as torch.save writes one: empty, text or other files are not
    checkpoints, whatever their name (and not a matter of --trust). Safetensors files are read before."""
    import tarfile

    with path.open("rb") as handle:
        start = handle.read(16)
    if start.startswith(TORCH_FILE_STARTS) or tarfile.is_tarfile(path):
        return
    what = "is empty (0 bytes)" if not start else f"starts with {start[:8]!r}"
    raise SuiteError(
        f"{what}: not a PyTorch checkpoint (torch.save writes a zip archive or a pickle)",
        path,
        fix="pass the .pth / .pt / .pth.tar file torch.save wrote, or a .safetensors file; if it was "
        "downloaded, download it again (a failed download often saves an error page or nothing in its place)",
    )


def _require_finite(value: Any, path: Path, where: str = "") -> None:
    """A SuiteError naming the first tensor, and its first index, that holds NaN or infinity."""
    if isinstance(value, Tensor):
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            index = [int(i) for i in torch.nonzero(~torch.isfinite(value))[0]]
            raise SuiteError(
                f"{where or 'the tensor'} holds {value[tuple(index)].item()} at index {index}: the weights "
                "are not finite numbers",
                path,
                fix="use a checkpoint saved before training diverged (an earlier epoch's)",
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _require_finite(item, path, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            _require_finite(item, path, f"{where}[{n}]")


def detect(checkpoint: Mapping[str, Any], path: str | Path | None = None) -> Importer:
    """The first importer whose layout matches, or a SuiteError describing what the file holds."""
    for importer in IMPORTERS:
        if importer.matches(checkpoint):
            return importer
    raise SuiteError(
        f"unknown checkpoint format; it holds {describe(checkpoint)}",
        path,
        fix="supported formats:\n    " + "\n    ".join(f"{i.name}: {i.source}" for i in IMPORTERS),
    )


def describe(checkpoint: Mapping[str, Any], sample: int = 5) -> str:
    """The top-level keys, with a sample of the keys of nested dicts."""
    parts = []
    for key, value in checkpoint.items():
        if isinstance(value, Mapping):
            nested = [str(k) for k in list(value)[:sample]]
            more = ", ..." if len(value) > sample else ""
            parts.append(f"{key!r}: {{{', '.join(nested)}{more}}} ({len(value)} keys)")
        else:
            parts.append(f"{key!r}: {type(value).__name__}")
    return "top-level keys " + "; ".join(parts) if parts else "nothing (an empty dict)"


def infer_arch(backbone: Mapping[str, Any]) -> str:
    """resnet18/34/50/101 from the key names: bottleneck blocks have conv3; blocks per stage count."""
    blocks = tuple(
        len({key.split(".")[1] for key in backbone if key.startswith(f"layer{stage}.")})
        for stage in (1, 2, 3, 4)
    )
    bottleneck = any(re.match(r"layer\d\.\d+\.conv3\.", key) for key in backbone)
    for arch, (block, layers) in ARCHS.items():
        if (block is torchvision.models.resnet.Bottleneck) == bottleneck and tuple(layers) == blocks:
            return arch
    kind = "bottleneck" if bottleneck else "basic"
    raise SuiteError(
        f"the backbone is not a ResNet this suite builds: {kind} blocks per stage {blocks}",
        fix=f"supported: {', '.join(ARCHS)}",
    )


def checksum(state: Mapping[str, Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_report(backbone: StateDict, importer: Importer, path: str) -> LoadReport:
    """Load into a fresh torchvision ResNet (strict=False) and record what did and did not fit."""
    arch = infer_arch(backbone)
    model = getattr(torchvision.models, arch)(weights=None)
    wanted = model.state_dict()
    mismatched = [
        (key, list(value.shape), list(wanted[key].shape))
        for key, value in backbone.items()
        if key in wanted and value.shape != wanted[key].shape
    ]
    bad = {key for key, _, _ in mismatched}
    result = model.load_state_dict({k: v for k, v in backbone.items() if k not in bad}, strict=False)
    return LoadReport(
        path=path,
        format=importer.name,
        arch=arch,
        matched=len(backbone) - len(bad) - len(result.unexpected_keys),
        missing=sorted(set(result.missing_keys) - bad),
        unexpected=sorted(result.unexpected_keys),
        mismatched=mismatched,
        expected_missing=list(importer.expected_missing(backbone)),
    )


def import_checkpoint(
    checkpoint: Mapping[str, Any], *, expected_format: str | None = None, path: str | Path | None = None
) -> tuple[StateDict, LoadReport]:
    """A checkpoint already in memory -> (torchvision trunk state dict without fc, LoadReport)."""
    try:
        return _import(checkpoint, expected_format, path)
    except SuiteError as error:
        if error.path is None and path is not None:
            raise SuiteError(error.what, path, error.fix) from error
        raise


def _import(
    checkpoint: Mapping[str, Any], expected_format: str | None, path: str | Path | None
) -> tuple[StateDict, LoadReport]:
    importer = _importer(checkpoint, expected_format)
    if not (importer.matches(checkpoint) or (expected_format and importer.accepts(checkpoint))):
        found = next((i.name for i in IMPORTERS if i.matches(checkpoint)), "an unknown format")
        raise SuiteError(
            f"not a {importer.name} checkpoint ({importer.source}); "
            f"it looks like {found}: {describe(checkpoint)}",
            fix="leave the format out to detect it, or pass a file of the format named",
        )
    backbone, dropped = importer.convert(checkpoint)
    report = load_report(backbone, importer, str(path) if path is not None else "<memory>")
    report.dropped = dropped
    if any(key.startswith("module.") for key in importer.raw(checkpoint) or {}):
        report.notes.append("`module.` prefix stripped")
    if (description := importer.describe(checkpoint)) is not None:
        report.notes.append(description)
    trunk = {key: value for key, value in backbone.items() if key not in FC}
    report.checksum = checksum(trunk)
    if not report.ok:
        raise CheckpointRefused(report, path)
    if len(trunk) < len(backbone):
        report.notes.append("classifier fc.weight, fc.bias left out of the returned trunk")
    return trunk, report


def import_backbone(
    path: str | Path, *, expected_format: str | None = None, trust: bool = False
) -> tuple[StateDict, LoadReport]:
    """The one entry point: any supported checkpoint file -> (torchvision trunk state dict, LoadReport)."""
    checkpoint = read_checkpoint(path, trust=trust)
    return import_checkpoint(checkpoint, expected_format=expected_format, path=path)


def _importer(checkpoint: Mapping[str, Any], expected_format: str | None) -> Importer:
    if expected_format is None:
        return detect(checkpoint)
    for importer in IMPORTERS:
        if importer.name == expected_format:
            return importer
    raise SuiteError(f"unknown checkpoint format {expected_format!r}", fix=f"use one of {', '.join(FORMATS)}")


def _refusal(report: LoadReport) -> str:
    problems = []
    missing = sorted(set(report.missing) - set(report.expected_missing))
    present = sorted(set(report.expected_missing) - set(report.missing))
    if missing:
        problems.append(f"backbone keys missing: {_brief(missing)}")
    if present:
        problems.append(f"keys expected to be missing are present: {_brief(present)}")
    if report.unexpected:
        problems.append(f"unexpected keys: {_brief(report.unexpected)}")
    if report.mismatched:
        problems.append(
            "shape mismatches: " + _brief([f"{k} {tuple(g)} vs {tuple(w)}" for k, g, w in report.mismatched])
        )
    return (
        f"refusing to import this {report.format} checkpoint into torchvision {report.arch}: "
        + "; ".join(problems)
        + f"\n{report}"
    )


_REFUSAL_FIX = (
    "the file is not the layout its format names (a different architecture, a partial or edited state "
    "dict); pass a checkpoint saved by the official code, or name the right format with expected_format"
)
