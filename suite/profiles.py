"""Profiles: the scale at which everything runs. `paper` is the paper's setting; `demo` runs on CPU.

A profile changes sizes and budgets, never the code path: the same trainer, methods and
protocols run at 256 px on ResNet-50 across GPUs and at 64 px on ResNet-18 on two CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from suite.errors import SuiteError
from suite.training.schedules import OptimSpec


@dataclass(frozen=True)
class PretrainProfile:
    arch: str  # torchvision ResNet: resnet50 (paper) or resnet18 (demo)
    image_size: int  # side of each square view (appendix C: 256)
    batch_size: int  # global batch, split over processes (paper: 128 on 4 GPUs)
    epochs: int  # paper: 200
    optim: OptimSpec  # SGD lr 0.03, momentum 0.9, weight decay 1e-4, cosine decay
    workers: int  # data-loading processes per training process
    checkpoint_every: int  # steps between checkpoints (one is always written at the end)
    bf16: bool = False  # bfloat16 autocast where the device has it natively (training.loop.native_bf16)
    # Shuffle BN's groups (methods with shuffle_bn): BatchNorm statistics over batch_size / bn_groups
    # samples, as bn_groups GPUs compute them; with fewer processes each splits its batch into
    # bn_groups / world_size groups (suite/training/split_bn.py), with as many or more it is per device.
    bn_groups: int = 1
    channels_last: bool = False
    # Method hyper-parameters that the profile scales, e.g. queue sizes; "*" applies to every method that
    # has the setting (METHODS.settings applies them: suite/pretrain/catalog.py).
    method_overrides: dict[str, dict] = field(default_factory=dict)

    def overrides_for(self, method: str) -> dict:
        return {**self.method_overrides.get("*", {}), **self.method_overrides.get(method, {})}


PAPER = PretrainProfile(
    arch="resnet50",
    image_size=256,
    batch_size=128,
    epochs=200,
    optim=OptimSpec(lr=0.03, momentum=0.9, weight_decay=1e-4, schedule="cosine"),
    workers=8,
    checkpoint_every=1000,
    bf16=True,
    channels_last=True,
    bn_groups=4,  # the 4-GPU default's per-device BN on 32 samples, whatever the number of GPUs
)
# The same recipe at CPU scale: only sizes and budgets change.
DEMO = replace(
    PAPER,
    arch="resnet18",
    image_size=64,
    batch_size=16,
    epochs=2,
    workers=0,
    checkpoint_every=20,
    # bf16 on a CPU with AVX512-BF16 or AMX (float32 on others): each method's step 0.67-0.74x its float32
    # time (README, "Pre-training"); fine-tuning stays float32 at every profile, as the protocols train.
    bf16=True,
    channels_last=False,
    # one BN group: split, its batch of 16 would leave groups of 8 or 4 (shuffle BN is per process here)
    bn_groups=1,
    # queues must hold at least one global batch; the demo's data has a few hundred images
    method_overrides={"*": {"queue_size": 256}},
)
# The demo's code paths at the least work that still runs every step: one epoch of tiny data, for the
# tests and for checking a set-up in a minute. Its numbers mean nothing.
SMOKE = replace(DEMO, epochs=1, checkpoint_every=1)
PRETRAIN_PROFILES = {"paper": PAPER, "demo": DEMO, "smoke": SMOKE}


def pretrain_profile(name: str) -> PretrainProfile:
    if name not in PRETRAIN_PROFILES:
        raise SuiteError(f"unknown profile {name!r}", fix=f"use one of {', '.join(PRETRAIN_PROFILES)}")
    return PRETRAIN_PROFILES[name]


@dataclass(frozen=True)
class FinetuneProfile:
    """The scale of fine-tuning: the trunk (the pre-training profile's), loader and checkpoint settings.
    A task owns its scale: what a profile changes in its settings (sizes and budgets, each task's Config
    holding the protocol's values) is in its catalogue entry (suite/finetune/catalog.py, `profiles`)."""

    name: str  # the task entries' `profiles` key
    arch: str
    workers: int  # data-loading processes per training process
    checkpoint_every: int  # steps between checkpoints (one is always written at the end)
    eval_batch_size: int  # images per forward pass at test time (no effect on the results)


PAPER_FINETUNE = FinetuneProfile(
    name="paper", arch=PAPER.arch, workers=8, checkpoint_every=1000, eval_batch_size=64
)
# The same protocols at CPU scale (each task's settings module says what its demo changes).
DEMO_FINETUNE = replace(
    PAPER_FINETUNE, name="demo", arch=DEMO.arch, workers=0, checkpoint_every=80, eval_batch_size=32
)
SMOKE_FINETUNE = replace(DEMO_FINETUNE, name="smoke", checkpoint_every=2)
FINETUNE_PROFILES = {"paper": PAPER_FINETUNE, "demo": DEMO_FINETUNE, "smoke": SMOKE_FINETUNE}


def finetune_profile(name: str) -> FinetuneProfile:
    if name not in FINETUNE_PROFILES:
        raise SuiteError(f"unknown profile {name!r}", fix=f"use one of {', '.join(FINETUNE_PROFILES)}")
    return FINETUNE_PROFILES[name]


# -- what `run` needs of a profile: where stage I and the data come from, budgets, estimates ---------


@dataclass(frozen=True)
class SynthSpec:
    """SynthHuman generated once in the work directory and used for every dataset (`data synth`)."""

    n: int
    seed: int = 0


@dataclass(frozen=True)
class RunProfile:
    name: str
    pretrain: PretrainProfile
    # "official": an IN stage is the method's official weights file (suite.toml [weights] "<method>-in"),
    # as the paper does (section 4.1); "train": every stage is trained here, stage I on `generic` images.
    stage_one: str
    pretrain_epochs: int | None  # every stage's epochs; None: the epochs the table states (200)
    synth: SynthSpec | None  # the data of every dataset; None: the configured datasets (suite.toml)
    threads: int | None  # torch threads in each job, so its numbers do not depend on the machine
    # Device-hours of one run, for `plan` (suite/orchestration/kinds.py): "pretrain:<source>", a MoCo-v2
    # pre-training of epochs(200) epochs on the source (other methods and epochs scale by their catalogue
    # entry's `cost` and their epochs); "pretrain:supervised", a 'Super.' stage I; "prepare", one data
    # preparation. A task's fine-tuning and evaluation hours are its catalogue entry's (TaskEntry.hours).
    hours: dict[str, float] = field(default_factory=dict)
    device: str = "GPU"  # what `hours` counts

    def epochs(self, stated: int) -> int:
        return stated if self.pretrain_epochs is None else self.pretrain_epochs


# benchmarks/pretrain_step.py --device cuda --shapes paper (ResNet-50 at 256 px, 32 images per GPU, bf16 and
# channels_last, one H200, 2026-12-04; each method's step time relative to MoCo-v2's is its catalogue
# entry's `cost`): MoCo-v2 trains on 1329 images/s per GPU (the model alone; data loading must
# keep up). ImageNet: 1,281,167 images; COCO crops: 149,813; Human3.6M's training frames: ~312K.
_MOCO_IMAGES_PER_S = 1329


def _gpu_hours(images: int, epochs: int, per_second: float) -> float:
    return images * epochs / per_second / 3600


PAPER_RUN = RunProfile(
    name="paper",
    pretrain=PAPER,
    stage_one="official",
    pretrain_epochs=None,
    synth=None,
    threads=None,
    hours={
        "pretrain:IN": _gpu_hours(1_281_167, 200, _MOCO_IMAGES_PER_S),
        "pretrain:CC": _gpu_hours(149_813, 200, _MOCO_IMAGES_PER_S),
        "pretrain:H36M": _gpu_hours(312_000, 200, _MOCO_IMAGES_PER_S),
        "pretrain:supervised": _gpu_hours(1_281_167, 90, 1000),  # torchvision's recipe; 1000/s assumed
        "prepare": 0.0,
    },
)
# Measured: each job's wall time in its record, `make demo` on a 2-core machine (2026-12-04; one thread
# per job, two jobs at a time): MoCo-v2 pre-training 14-15 s, supervised 80 s, an h36m-3d fine-tuning
# 47-75 s, its test 1-2 s, SynthHuman 16 s. The whole table: 7.5 minutes.
DEMO_RUN = RunProfile(
    name="demo",
    pretrain=DEMO,
    stage_one="train",
    pretrain_epochs=DEMO.epochs,
    synth=SynthSpec(n=256),
    threads=1,
    hours={
        "pretrain:IN": 15 / 3600,
        "pretrain:CC": 15 / 3600,
        "pretrain:H36M": 15 / 3600,
        "pretrain:supervised": 80 / 3600,
        "prepare": 16 / 3600,
    },
    device="CPU core",
)
SMOKE_RUN = replace(
    DEMO_RUN, name="smoke", pretrain=SMOKE, pretrain_epochs=SMOKE.epochs, synth=SynthSpec(n=32)
)
RUN_PROFILES = {profile.name: profile for profile in (PAPER_RUN, DEMO_RUN, SMOKE_RUN)}
PROFILES = tuple(RUN_PROFILES)


def run_profile(name: str) -> RunProfile:
    if name not in RUN_PROFILES:
        raise SuiteError(f"unknown profile {name!r}", fix=f"use one of {', '.join(RUN_PROFILES)}")
    return RUN_PROFILES[name]
