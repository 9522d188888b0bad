"""pw3d-shape's settings, scale and catalogue entry, without torch (its task: pw3d_shape.py)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.errors import SuiteError
from suite.finetune.catalog import TASKS, TaskEntry

CAMERA_LOSSES = ("rsc-net", "spin")


@dataclass(frozen=True)
class Pw3dShapeConfig:
    """RSC-Net's train.py / eval.py defaults (xuxy09/RSC-Net, which the paper follows): its regressor
    (with ReLUs) and losses (the camera translation's), SPIN's where RSC-Net keeps them, SPIN's regressor
    and camera term as named options (downstream-protocols.md §5)."""

    input_size: int = 224  # square crops of 1.2 x the visible joints' box
    batch_size: int = 32  # RSC-Net's first epoch (32 -> 16 -> 10 over its epochs); SPIN: 64
    epochs: int = 4  # RSC-Net's num_epochs; SPIN: 50
    lr: float = 5e-5  # Adam, no weight decay
    milestones: tuple[int, ...] = ()  # RSC-Net's ExponentialLR(0.95) every 4 epochs never steps in 4
    gamma: float = 0.95
    iterations: int = 3  # IEF iterations from the mean parameters
    # RSC-Net's regressor: fc1 -> ReLU -> dropout -> fc2 -> ReLU -> dropout; False: SPIN's, without ReLU
    regressor_relu: bool = True
    focal_length: float = 5000.0  # px at a 224 px crop: cam_t = [tx, ty, 2 f / (224 s)]
    # RSC-Net's loss weights (SPIN's are the same but for the camera term)
    keypoint_2d_weight: float = 5.0
    keypoint_3d_weight: float = 5.0
    pose_weight: float = 1.0  # MSE on rotation matrices
    betas_weight: float = 0.001
    vertex_weight: float = 0.0  # SPIN's shape_loss_weight
    # the camera term: "rsc-net", MSE of the predicted cam_t = [tx, ty, 2f / (224 s)] against the
    # translation that projects the ground-truth mesh's joints onto the crop's 2D joints (SPIN's
    # estimate_translation), x cam_t_weight (RSC-Net's cam_loss_weight); "spin", SPIN's (exp(−10 s))²,
    # which keeps the scale positive, x cam_scale_weight (SPIN's trainer adds it at 1)
    camera_loss: str = "rsc-net"
    cam_t_weight: float = 1e-4
    cam_scale_weight: float = 1.0
    loss_scale: float = 60.0  # the total x 60
    # augmentation: RSC-Net's (flip, pixel noise; rotation and scale off: its images are pre-cropped)
    flip_p: float = 0.5
    noise_factor: float = 0.4  # each channel x U(1 − f, 1 + f)
    rotation_factor: float = 0.0  # degrees, clipped at twice; SPIN: 30
    rotation_p: float = 0.4  # of a rotation being applied at all (SPIN)
    scale_factor: float = 0.0  # clip(N(0, 1)·f + 1, 1 − f, 1 + f); SPIN: 0.25
    # "file": HMR/SPIN's smpl_mean_params.npz in the smpl root; "training": the mean of the training
    # persons' parameters (6D pose, betas, weak-perspective camera), for trees that lack the file
    mean_params: str = "file"
    normalisation: str = "rgb"  # RGB / 255 with ImageNet's statistics, as SPIN and RSC-Net
    init: str = "torchvision"  # the trunk's initialisation when it gets no weights (Random init.)

    def __post_init__(self) -> None:
        if self.camera_loss not in CAMERA_LOSSES:
            raise SuiteError(
                f"unknown camera_loss {self.camera_loss!r}",
                fix=f"use one of {list(CAMERA_LOSSES)}: RSC-Net's cam_t regression or SPIN's exp(−10 s) term",
            )


# The numbers below were measured with SPIN's regressor (no ReLU) and camera term ((exp(−10 s))² x 1),
# the defaults until 2026-12-07: RSC-Net's ReLUs and cam_t regression (x 1e-4), the defaults since, change
# the demo's numbers (regressor_relu=False camera_loss=spin gives the old model back).
# With them (2026-12-07, demo-all of 6dab753) random init scores 99.1 mm against the mean's 102.5 (seeds
# 1 and 2: 99.3 and 105.6), where SPIN's scored 100.5 (101.0 and 105.8); with the fused Adam since e621231
# 98.4, 100.2 and 103.9 (seeds 0-2, 2026-12-08).
# The protocol at CPU scale (measured on one thread of a 2-core machine, SynthHuman n=256: 367 training
# and 105 test person-frames of 3DPW, ResNet-18, seed 0): 64 px crops, batch 16, 12 epochs (264 steps),
# ~80 s of training, ~3 s of test. Random init reaches a reconstruction error of 97.5 mm against the
# mean parameters' 102.1: past the baseline, not far. 8 epochs (176 steps) reach 100.1, 16 epochs 99.4
# (the runs vary by a few mm); lr 5e-4 reaches 102.4 (MPJPE far better, the articulation no better) and
# lr 2e-3 diverges (NaN). On SynthHuman v2 (2026-12-07; the demo-all run of 78ba80b scored 102.1 against
# 102.1): 102.07 as is, 100.3 without flip and pixel noise, and without them at lr 1e-4 96.7 with seed 0
# but 111.4 with seed 1, at 2e-4 101.5: seeds move it more than these settings do.
# Trees with more distinct poses do not help (2026-12-07, seeds 0 and 1): a key pose every image frame or
# every two, in 8-frame sequences (~4x the poses, 8 test sequences instead of 3), put random init at
# 152-155 and 132-140 mm against the mean's 122.4 and 101.0: its MPJPE improves (the global rotation is
# learned), its articulation moves away from the mean the wrong way.
# Found then: SynthHuman v2's shape blend shapes (betas 2-9) were not mirror-symmetric as SMPL's nearly
# are, so SPIN's flip, which keeps the betas, placed a flipped person's joints 1-4 cm (median 2 cm) off
# the mirror image. v3 symmetrises them (body_model.shape_blend_shapes; tested): the flip is exact, and
# what the demo learns does not change (measured before applying it: 101.1, 104.3, 108.3 mm, seeds 0-2,
# against the mean's 101.7; on v3, demo-all of fa4a0c3: 100.5 against 102.5, seeds 1 and 2 101.0, 105.8).
# Twice the epochs on v3 (24, 528 steps) do not help either: 101.2 and 105.0 mm with seeds 0 and 1; nor a
# key pose every 4 frames instead of 12 (3x the distinct poses): 99.3 and 98.1 against the mean's 98.4.
# The model does fit its training persons (90.5 against their mean's 104.9 mm, seed 0): what it learns of
# the articulation from ~50 key poses (17 people x 3) does not carry over to the test sequences' poses.
# Activities as scripts shared by the splits (each of the 8 activities 4 key poses, each sequence's keys
# 25% of the way to poses of its own) do not settle it either (2026-12-07): on one tree random init scored
# 93.6, 91.5 and 95.1 mm (seeds 0-2) against the mean's 100.7, on the full tree written so 75.5, 78.1
# and 76.6 against 73.4. With 3 test sequences, which poses the test happens to hold decides the margin.
DEMO = {
    "input_size": 64,
    "batch_size": 16,
    "epochs": 12,
    "mean_params": "training",  # SynthHuman's body-model tree has no smpl_mean_params.npz
}
# The demo's code paths at the least work that still runs every step; its numbers mean nothing.
SMOKE = {**DEMO, "epochs": 1}

# Paper: ResNet-50 at 224 px (batch 32, fp32), assumed ~900 images/s on one H200 (RLE's 256 px ResNet-50
# trains on 741/s), over RSC-Net's epochs of the largest training set (Human3.6M, 312K) x 4 epochs;
# the test, 35,515 person-frames, a few minutes with the mesh evaluation. Demo: measured as above.
PAPER_HOURS = (312_000 * 4 / 900 / 3600, 0.1)
DEMO_HOURS = (85 / 3600, 3 / 3600)

TASKS.add(
    TaskEntry(
        "pw3d-shape",
        Pw3dShapeConfig,
        "suite.finetune.pw3d_shape:Pw3dShape",
        profiles={"demo": DEMO, "smoke": SMOKE},
        summary="3DPW human shape recovery, reconstruction error (Table 5): HMR's regressor as RSC-Net "
        "(Xu et al. 2021) trains it",
        datasets=("pw3d", "smpl"),
        metrics=("reconstruction_error", "mpjpe"),
        lower_is_better={"reconstruction_error": True, "mpjpe": True},
        baseline="the mean SMPL parameters (pose and shape) predicted for every test person",
        hours={"paper": PAPER_HOURS, "demo": DEMO_HOURS, "smoke": DEMO_HOURS},
    )
)
