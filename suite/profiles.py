"""Profiles: the scale at which everything runs. `paper` is the paper's setting; `demo` runs on CPU.

A profile changes sizes and budgets, never the code path: the same trainer, methods and
protocols run at 256 px on ResNet-50 across GPUs and at 64 px on ResNet-18 on two CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from suite.errors import SuiteError
from suite.pretrain.method import OptimSpec


@dataclass(frozen=True)
class PretrainProfile:
    arch: str  # torchvision ResNet: resnet50 (paper) or resnet18 (demo)
    image_size: int  # side of each square view (appendix C: 256)
    batch_size: int  # global batch, split over processes (paper: 128 on 4 GPUs)
    epochs: int  # paper: 200
    optim: OptimSpec  # SGD lr 0.03, momentum 0.9, weight decay 1e-4, cosine decay
    workers: int  # data-loading processes per training process
    checkpoint_every: int  # steps between checkpoints (one is always written at the end)
    bf16: bool = False  # bfloat16 autocast on GPUs
    channels_last: bool = False
    # Method hyper-parameters that the profile scales, e.g. queue sizes; "*" applies to every method.
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
    bf16=False,
    channels_last=False,
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
    """The scale of fine-tuning: the trunk (the pre-training profile's), loader and checkpoint settings,
    and per-task changes to sizes and budgets (each task's Config holds the protocol's values)."""

    arch: str
    workers: int  # data-loading processes per training process
    checkpoint_every: int  # steps between checkpoints (one is always written at the end)
    eval_batch_size: int  # images per forward pass at test time (no effect on the results)
    task_overrides: dict[str, dict] = field(default_factory=dict)

    def overrides_for(self, task: str) -> dict:
        return dict(self.task_overrides.get(task, {}))


PAPER_FINETUNE = FinetuneProfile(arch=PAPER.arch, workers=8, checkpoint_every=1000, eval_batch_size=64)
# The same protocols at CPU scale (measured on one thread of a 2-core EPYC, SynthHuman n=256):
# h36m-3d: RLE's 200 epochs with drops at 90 and 120 become 5 epochs (160 steps of 16) with drops at
# 2 and 3, at 64 px: ~55 s of training, ~1 s of flip-tested evaluation. At this budget the model stays
# near the mean training pose whatever its initialisation (the table's footnote gives that baseline);
# none of 32-64 px, batches 8-32, up to 900 steps, lr 3e-3 or narrower synthetic poses got clearly
# past it within ~90 s per fine-tune. classification: torchvision's 90 epochs with drops at 30 and 60
# become 15 with drops at 5 and 10: ~45 s, 92 % top-1 on `generic`.
DEMO_FINETUNE = replace(
    PAPER_FINETUNE,
    arch=DEMO.arch,
    workers=0,
    checkpoint_every=80,
    eval_batch_size=32,
    task_overrides={
        "h36m-3d": {"input_size": 64, "batch_size": 16, "epochs": 5, "milestones": (2, 3)},
        "classification": {
            "input_size": 64,
            "resize_size": 73,  # 64 x 256 / 224, torchvision's resize-to-crop ratio
            "batch_size": 32,
            "epochs": 15,
            "milestones": (5, 10),
        },
    },
)
SMOKE_FINETUNE = replace(
    DEMO_FINETUNE,
    checkpoint_every=2,
    task_overrides={
        task: {**overrides, "epochs": 1, "milestones": ()}
        for task, overrides in DEMO_FINETUNE.task_overrides.items()
    },
)
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
    # Device-hours of one run, for `plan`: a MoCo-v2 pre-training of epochs(200) epochs per source (other
    # methods and epochs scale by METHOD_COST and their epochs), one fine-tuning or evaluation per task,
    # one data preparation.
    hours: dict[str, float] = field(default_factory=dict)
    device: str = "GPU"  # what `hours` counts

    def epochs(self, stated: int) -> int:
        return stated if self.pretrain_epochs is None else self.pretrain_epochs


# Step time relative to MoCo-v2 (benchmarks/pretrain_step_time.py --device cuda: ResNet-50 at 256 px,
# 32 images per GPU, bf16 and channels_last, one H200, 2026-12-04).
METHOD_COST = {"moco-v2": 1.0, "densecl": 1.40, "liftedcl": 1.70, "pixpro": 2.04}
# The same measurement: MoCo-v2 trains on 1329 images/s per GPU (the model alone; data loading must
# keep up). ImageNet: 1,281,167 images; COCO crops: 149,813; Human3.6M's RLE training frames: ~312K.
# RLE's ResNet-50 at 256 px (batch 128, fp32) trains on 741 images/s on that GPU, over 2 x 312K
# samples (Human3.6M and MPII, 1:1) per epoch.
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
        "finetune:h36m-3d": _gpu_hours(2 * 312_000, 200, 741),
        "evaluate:h36m-3d": 0.05,
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
        "finetune:h36m-3d": 55 / 3600,
        "evaluate:h36m-3d": 1.5 / 3600,
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
