"""lip-parsing's settings, scale and catalogue entry, without torch (the task: lip_parsing.py)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.finetune.catalog import TASKS, TaskEntry

METRICS = ("macc", "miou")


@dataclass(frozen=True)
class LipParsingConfig:
    """Self-Correction-Human-Parsing's train.py / evaluate.py defaults on LIP (downstream-protocols.md §6)."""

    input_size: int = 473  # square
    batch_size: int = 48  # 16 per GPU x 3
    epochs: int = 150
    lr: float = 7e-3  # SGD; SGDR from lr / 100 (warm-up), cosine to lr / 100, restarts from lr / 2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: int = 10
    schp_start: int = 100  # self-correction at the ends of epochs schp_start, + cycle_epochs, ... (1-based)
    cycle_epochs: int = 10
    lambdas: tuple[float, float, float] = (1.0, 1.0, 0.1)  # parsing, edge, consistency
    scale_factor: float = 0.25
    rotation_factor: float = 30.0  # degrees, clipped at twice
    rotation_p: float = 0.6
    flip_p: float = 0.5
    # the head's widths (AugmentCE2P: PSP context 512, decoder 256 with 48 layer1 channels, edge 256)
    context_channels: int = 512
    decoder_channels: int = 256
    edge_channels: int = 256
    normalisation: str = "rgb"  # "official": SCHP's BGR image with BGR-ordered ImageNet statistics
    flip_test: bool = True
    test_scales: tuple[float, ...] = (1.0,)  # evaluate.py's --multi-scales default
    init: str = "torchvision"  # the trunk's initialisation when it gets no weights (Random init.)


# The protocol at CPU scale (measured on one thread of a 2-core machine shared with other jobs, SynthHuman
# n=256: 256 training crops, 64 test crops, ResNet-18): 64 px inputs, the head at a quarter of its widths,
# batch 8, 7 epochs (224 steps): warm-up 1 epoch, cosine to epoch 5, then self-correction cycles at the
# ends of epochs 5, 6 and 7 (restarts every epoch): ~88 s of training, ~4 s of flip-tested evaluation.
# Random init reaches mIoU 7.2 / mACC 10.7 (seed 0) against the per-pixel majority baseline's 4.9 / 6.0
# (background, upper clothes and pants are found; the small parts are not). Batch 16 over 8 epochs
# (128 steps, ~135 s) reached only 5.4 / 7.1: at this budget the number of steps matters most.
DEMO = {
    "input_size": 64,
    "batch_size": 8,
    "epochs": 7,
    "warmup_epochs": 1,
    "schp_start": 5,
    "cycle_epochs": 1,
    "context_channels": 128,
    "decoder_channels": 64,
    "edge_channels": 64,
}
# The demo's code paths at the least work that still runs every step (a self-correction cycle with soft
# labels in the second epoch and the final cycle): its numbers mean nothing.
SMOKE = {**DEMO, "epochs": 2, "schp_start": 1}

# Paper: SCHP's CE2P on ResNet-50 at 473 px (batch 48, fp32), assumed ~250 images/s on one H200 (a
# dilated ResNet-50 at output stride 16 on 473² is ~4.5x the FLOPs of a 256² SimpleBaseline at ~700/s),
# over LIP's 30,462 training images x 150 epochs plus one forward pass per self-correction cycle; the
# test, 10,000 images with the flip test, a few minutes. Demo: measured as above.
PAPER_HOURS = (30_462 * 150 / 250 / 3600, 0.1)
DEMO_HOURS = (90 / 3600, 5 / 3600)

TASKS.add(
    TaskEntry(
        "lip-parsing",
        LipParsingConfig,
        "suite.finetune.lip_parsing:LipParsing",
        profiles={"demo": DEMO, "smoke": SMOKE},
        summary="LIP human parsing, mACC and mIoU (Table 6): Self-Correction-Human-Parsing's CE2P "
        "protocol (Li et al. 2020)",
        datasets=("lip",),
        metrics=METRICS,
        lower_is_better=dict.fromkeys(METRICS, False),
        evaluation_settings=("flip_test", "test_scales"),
        baseline="the most frequent training label at each pixel of the input frame",
        hours={"paper": PAPER_HOURS, "demo": DEMO_HOURS, "smoke": DEMO_HOURS},
    )
)
