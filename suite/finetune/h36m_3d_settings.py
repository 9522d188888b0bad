"""h36m-3d's settings, scale and catalogue entry, without torch (the task: suite/finetune/h36m_3d.py)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.finetune.catalog import TASKS, TaskEntry


@dataclass(frozen=True)
class H36m3dConfig:
    """RLE's configs/256x192_res50_3d_h36mmpii-flow.yaml (the crop is 256x256 despite the name)."""

    input_size: int = 256
    batch_size: int = 128  # 32 per GPU x 4
    epochs: int = 200
    lr: float = 1e-3  # Adam, no weight decay
    milestones: tuple[int, ...] = (90, 120)
    gamma: float = 0.1
    clip_grad_norm: float = 35.0  # per parameter tensor
    scale_factor: float = 0.3
    rotation_factor: float = 30.0  # degrees
    rotation_p: float = 0.6
    flip_p: float = 0.5
    color_factor: float = 0.2
    occlusion: bool = True
    occlusion_area: tuple[float, float] = (0.0, 0.7)  # of the box's area
    occlusion_ratio: tuple[float, float] = (0.3, 1 / 0.3)
    bbox_3d_shape: float = 2000.0  # mm; depth targets are depth / bbox_3d_shape
    h36m_scale_mult: float = 1.0
    mpii_scale_mult: float = 1.25
    normalisation: str = "rgb"  # "official": RLE's BGR-ordered statistics (see h36m_3d.py's docstring)
    flip_test: bool = True
    init: str = "torchvision"  # the trunk's initialisation when it gets no weights (Random init.)
    # Table 9's "+ prior" (suite/finetune/prior.py): a lifting head trained beside RLE's head, its pose
    # tied to the 2D joints and kept within appendix B's prior. The paper gives no weights. RLELoss3D
    # (a sum over 54 coordinates, in crop-normalised units: the same at every input size) starts at ~106,
    # σ's start at 0.5, and is ~2.5 after the demo's first epoch (32 steps), on its way below 0; against
    # that settled value, L_reproj 1.9 and L_prior 0.23 at initialisation (SynthHuman, ResNet-18, 3 seeds)
    # are ~8% and ~9%; after that epoch L_reproj (0.7) is ~3%, L_prior ~0.
    prior: bool = False
    prior_weight: float = 1.0
    reprojection_weight: float = 0.1


# The protocol at CPU scale (one thread of a 2-core EPYC, SynthHuman n=256, ResNet-18 at 64 px, batch 16):
# 10 epochs (320 steps), at RLE's lr throughout and without its augmentation (flip, rotation, scale, colour,
# occlusion), 85-91 s of training (two jobs at a time) and ~1 s of flip-tested evaluation. There random init
# scores 0.909-0.912 x the mean training pose's MPJPE (seeds 0, 1, 2: 310.0-311.2 vs 341.2 mm; PA-MPJPE 0.92
# x; with the fused Adam since e621231, 310.7, 321.8 and 319.5 mm: 0.91-0.94 x, 2026-12-08), where the
# protocol's schedule scaled to the demo (5 epochs, lr / 10 at 2 and / 100 at 3, with its
# augmentation) stays on the mean pose: 343.3 mm (1.006 x). Measured on that tree (2026-12-07, random init,
# MPJPE / the baseline's): 160 steps with the lr drops and augmentation 1.006; no drops 1.006; no drops nor
# rotation, scale, occlusion 1.001, nor flip and colour either 0.939-0.975 (three seeds); 320 steps with
# flip and colour only 0.924, with none 0.91; 160 steps at lr 2e-3 1.014; SynthHuman n=1024, 320 steps
# 0.88-0.90 (a larger tree makes every pre-training longer). Augmentation and the lr drops are what a
# 200-epoch schedule needs against over-fitting; in 320 steps they only slow the way off the mean.
# Still short of 0.8 x, and why (2026-12-06/07, 160 steps unless said, with the protocol's schedule):
# the model first collapses to the mean (its joints spread 5-10 mm across test frames against the
# truth's 50-430 mm: RLE's coordinate FC reads the L2-normalised pooled feature, whose direction barely
# varies between images this early), and only steps move it (480 steps 0.93 x, 960 0.91 x). Not the
# head, the loss or the input: a plain L1 loss on μ 1.008, a read-out of the whole 2x2 C5 map 1.007, 96
# or 128 px 1.05, batch 8 x 320 steps 1.03, head outputs x10 or x30, batch-normalised head input, test-time
# batch statistics (343.3 vs 342.9). Not cues the figures lack: left limbs dressed unlike right ones 1.02,
# every part its own colour 1.01, a chest print 1.05, per-action key poses 1.05, plain backgrounds with
# frontal views 0.98. Nor a better trunk alone: from the h36m-2d demo's random-init trunk (JDR 60.8 vs
# the mean pose's 47.2), whose pooled C5 holds pose (a ridge read-out scores 0.877 x), RLE scores 1.02 x,
# 0.93 x without augmentation. The target is the limbs' depth and 2D: perfect 2D joints with the mean
# pose's depths would score 0.57 x, a ridge lift of the true 2D joints 0.50 x; a model that knew each
# person's facing and predicted the mean pose turned that way, 0.81 x.
# What bounds it is the tree's 64 distinct training poses (each seen by 4 cameras) as much as the steps
# (2026-12-07, this demo's settings, seed 0): 1,280 steps score 0.94 x (over-fitting: RLE's loss keeps
# falling). With one camera per frame, 256 distinct poses in as many images: 0.87 x at 320 steps and at
# 1,280; 1,024 distinct poses: 0.88 x at 384 steps, 0.85 x at 768 (about twice a demo row's time); so
# 0.8 x wants thousands of poses and steps. The trees keep 4 cameras per frame: h36m-2d's multiview
# recipe reads only frames seen by all 4. Poses drawn from half of the prior's angle ranges: 0.91 x again.
# Nor is it MPII's half of each batch: Human3.6M alone for as many steps (20 epochs of 16) scores 318.2 mm
# (0.93 x; PA-MPJPE 230.6, a little better), 2026-12-07, seed 0.
# It is the steps, not over-fitting (2026-12-07, seed 0): random init scores 0.87 x on its own training
# frames (283.6 vs 325.7 mm), hardly better than on the test's 0.91 x, and its facing is 51 degrees off
# (median). Nor do Human3.6M-like poses close it: subjects of both splits acting out the same scripts
# (15 actions of 2 key poses each, every sequence a stretch of its action's, blended 0-25% towards poses
# of its own) score 0.85-0.87 x on three trees of 64 training poses but 0.88 x (seeds 0, 1) on the full
# tree written so, 0.87 x with 256 poses at 384 steps, and 0.79 x only with 256 poses and 1,280 steps,
# 4x a demo row's time; on that tree h36m-2d's margin over its mean pose shrank (JDR 65.0 vs 55.4) and
# pw3d-shape fell behind its own (below). At this budget lr 3e-3 stays on the mean (1.01 x), 5e-4
# scores 0.88 x, batch 8 (640 steps, 1.4x the time) 0.87 x, zero-initialised residual BNs 0.93 x, 96 px
# (1.7x the time) 0.90 x, against 0.85 x for this demo on the same tree.
# A lever not taken yet (2026-12-08, e621231, an experiment outside the code): the trunk's forward under
# bf16 autocast (its output back to float32, the head and loss in float32) trains 1.45-1.5x the steps a
# second on one thread, and scores as float32 does: 317.1 and 315.1 mm (seeds 0, 1) against 310.7 and 321.8.
# As a demo setting for every task it would shorten each fine-tuning by about a third, time that more steps
# could use.
SCALE = {"input_size": 64, "batch_size": 16}
DEMO = {
    **SCALE,
    "epochs": 10,
    "milestones": (),
    "flip_p": 0.0,
    "rotation_p": 0.0,
    "scale_factor": 0.0,
    "color_factor": 0.0,
    "occlusion": False,
}
# The demo's code paths at the least work that still runs every step, the protocol's augmentation
# included (the tests run it); its numbers mean nothing.
SMOKE = {**SCALE, "epochs": 1, "milestones": ()}

# Paper: RLE's ResNet-50 at 256 px (batch 128, fp32) trains on 741 images/s on one H200, over 2 x 312K
# samples (Human3.6M and MPII, 1:1) per epoch. Demo: measured as above.
PAPER_HOURS = (2 * 312_000 * 200 / 741 / 3600, 0.05)
DEMO_HOURS = (88 / 3600, 1.5 / 3600)

TASKS.add(
    TaskEntry(
        "h36m-3d",
        H36m3dConfig,
        "suite.finetune.h36m_3d:Human36m3d",
        profiles={"demo": DEMO, "smoke": SMOKE},
        summary='Human3.6M 3D pose with RLE (Table 4): "h36m-3d", the protocol of Li et al. (2021) '
        "as the paper uses it",
        datasets=("h36m", "mpii"),
        metrics=("mpjpe", "pa_mpjpe"),
        lower_is_better={"mpjpe": True, "pa_mpjpe": True},
        evaluation_settings=("flip_test",),
        baseline="the mean root-relative training pose, predicted for every test frame",
        hours={"paper": PAPER_HOURS, "demo": DEMO_HOURS, "smoke": DEMO_HOURS},
    )
)
