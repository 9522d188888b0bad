"""3DPW human shape recovery (Table 5): "pw3d-shape", HMR's regressor fine-tuned as RSC-Net / SPIN do.

Sources: xuxy09/RSC-Net (train.py, eval.py; the paper follows its settings), nkolot/SPIN (models/hmr.py,
train/trainer.py, datasets/base_dataset.py, eval.py); downstream-protocols.md §5.

Model (suite/models/hmr.py): the trunk, global average pooling and 3 iterations of error feedback from
the mean SMPL parameters (6D rotations, betas, weak-perspective camera) through RSC-Net's fc 1024 ->
ReLU -> dropout 0.5, twice (`regressor_relu=False`: SPIN's, without the ReLUs); the neutral SMPL
(smplx) poses the predicted rotation matrices; Human3.6M's 17 joints come from its vertices by
J_regressor_h36m.

Training (RSC-Net's trainer, SPIN's where RSC-Net keeps it): a crop of 1.2 x the visible joints' box
(SPIN's 3DPW preprocessing, suite.data.pw3d) at input_size; flip (the image, the 2D and 3D joints with
their pairs swapped, the SMPL pose by SPIN's flip_pose) with p 0.5, each channel x U(0.6, 1.4),
rotation and scale as configured (off in RSC-Net). Losses: 2D joints, MSE on [−1, 1] crop coordinates
of the joints projected with focal length 5000 px at 224 px and cam_t = [tx, ty, 2f / (224 s)], x5;
3D joints relative to the mid-hips, x5; MSE on the pose's rotation matrices, x1; betas, x0.001;
vertices (L1), x0; the camera, RSC-Net's MSE of cam_t against the translation that SPIN's
estimate_translation fits (weighted least squares, f 5000 px, principal point 112 px) to put the
ground-truth mesh's joints, posed without translation, onto the crop's 2D joints, x0.0001
(`camera_loss="spin"`: SPIN's (exp(−10 s))², x1, instead); all x60. Adam 5e-5, batch 32, 4 epochs.

Test (SPIN's / RSC-Net's eval.py on 3DPW test, suite.evaluate.reconstruction): every person-frame with
a valid camera pose, its unaugmented crop; predicted mesh from the neutral SMPL, ground truth from the
person's gendered SMPL; J_regressor_h36m, pelvis = joint 0, the 14 LSP joints; MPJPE and, after a
similarity Procrustes, the reconstruction error, mm. The run also writes the test set as SPIN's
3dpw_test.npz, so `python -m suite eval reconstruction-error --pred predictions.npz --gt 3dpw_test.npz`
recomputes the metric from the saved parameters.

Deviations:
- Training data: 3DPW's own train split (its SMPL fits, camera poses and intrinsics: 2D joints are
  the ground-truth mesh's Human3.6M joints projected into the image, 3D joints the same in the camera
  frame), instead of RSC-Net's mix (Human3.6M with MoSh fits 30%, LSP, MPII, LSP-extended and COCO 60%,
  MPI-INF-3DHP 10%): the suite reads none of SPIN's training npz files, and SynthHuman has no SMPL
  fits of Human3.6M nor those sets. A 3DPW-trained model is not comparable with the paper's numbers.
- Joints of the 2D / 3D losses: Human3.6M's 17 from J_regressor_h36m, not SPIN's 49 (OpenPose's 25
  from smplx and J_regressor_extra, and 24 ground-truth joints), since the training data is 3DPW's.
  The camera translation is fitted to the same 17 joints (confidence 1) of the person's gendered mesh,
  whose projections the 2D joints are, not to the 24 ground-truth joints of the neutral SMPL posed with
  the ground-truth parameters, as RSC-Net does.
- RSC-Net's resolution-aware parts are left out: the per-resolution α of every residual block, the
  low-resolution training (bicubic down- and up-sampling), the contrastive and consistency losses,
  and the evaluation at 32 px; the plain regressor is trained and tested at input_size, as HMR/SPIN.
  Its batch schedule (32 -> 16 -> 10) is one batch of 32, and its colour jitter is left out.
- `mean_params="training"` (the demo: SynthHuman has no smpl_mean_params.npz) starts the regressor
  from the mean of the training persons' 6D poses, betas and fitted weak-perspective cameras.
- Augmentation is drawn from (seed, epoch, index), the crop by suite.data.affine in float64.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional
from torch.utils.data import DataLoader, Dataset

from suite.data.affine import apply_affine, crop_affine
from suite.data.images import read_image
from suite.data.pw3d import SpinSample, read_split, spin_samples
from suite.data.skeleton import FLIP_PAIRS
from suite.data.smpl import read_mean_params
from suite.data.synth.body_model import load_smpl
from suite.errors import DatasetError, SuiteError
from suite.evaluate.mpjpe import mpjpe_per_sample, pa_mpjpe_per_sample
from suite.evaluate.reconstruction import BodyModels, evaluate_joints, rodrigues, smpl_vertices
from suite.evaluate.samples import mean_samples
from suite.finetune.pw3d_shape_settings import Pw3dShapeConfig
from suite.finetune.task import Evaluation, Task
from suite.finetune.topdown import normalise
from suite.models.backbone import ResNetTrunk
from suite.models.hmr import Hmr, HmrOutput, rot6d_to_rotmat
from suite.training.schedules import OptimizerSpec

MEAN_PARAMS = "smpl_mean_params.npz"  # in the smpl root, SPIN's data/ layout
CAMERA_RES = 224  # SPIN's constants.IMG_RES: the crop the focal length refers to
PIXEL_STD = 200.0  # SPIN's scale unit
# SPIN's constants.SMPL_JOINTS_FLIP_PERM: each SMPL joint's mirror
SMPL_FLIP = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20, 23, 22)
R_HIP, L_HIP = 1, 4  # Human3.6M joints; the 3D loss's pelvis is their mid-point (SPIN's mid-hips)
NUM_H36M = 17
FIX_DATA = "check the dataset with python -m suite data check pw3d"


@dataclass(frozen=True, eq=False)
class Person:
    """A 3DPW person-frame with everything the losses need, in the camera frame."""

    sample: SpinSample  # image, centre, scale, pose (72, orientation in the camera frame), betas, gender
    joints_cam: np.ndarray  # (17, 3) Human3.6M joints of the ground-truth mesh, camera frame, m
    joints_2d: np.ndarray  # (17, 2) the same projected into the image, px
    joints_model: np.ndarray  # (17, 3) the same without the translation (SMPL's own frame), m
    root: np.ndarray  # (3,) SMPL's root joint J0 (model frame), about which the global orientation turns


def persons(pw3d: Path, body: BodyModels, split: str) -> list[Person]:
    """SPIN's person-frames of a split with their ground-truth joints: each mesh posed by its gendered
    SMPL with the camera-frame pose, moved by the translation the world -> camera pose gives it."""
    samples = spin_samples(pw3d, split).samples
    sequences = {sequence.name: sequence for sequence in read_split(pw3d, split)}
    result = []
    for sample in samples:
        sequence = sequences[sample.sequence]
        person = sequence.people[sample.person]
        model = body.models["MALE" if sample.gender == "m" else "FEMALE"]
        betas = sample.betas[None]
        vertices = smpl_vertices(model, rodrigues(sample.pose.reshape(1, 24, 3)), betas)[0]
        joints_model = body.regressor @ vertices
        # SMPL turns the mesh about its root joint J0: camera = model + R_c (J0 + trans) + t_c − J0
        j0 = model.J_regressor[0] @ (model.v_template + model.shapedirs[:, :, :10] @ sample.betas)
        camera = sequence.cam_poses[sample.frame]
        offset = camera[:3, :3] @ (j0 + person.trans[sample.frame]) + camera[:3, 3] - j0
        joints_cam = joints_model + offset
        projected = joints_cam @ sequence.cam_intrinsics.T
        result.append(Person(sample, joints_cam, projected[:, :2] / projected[:, 2:], joints_model, j0))
    if not result:
        raise DatasetError(f"no {split} person-frames with a valid camera pose", pw3d, FIX_DATA)
    return result


def flip_pose(pose: np.ndarray) -> np.ndarray:
    """SPIN's flip_pose: (72,) axis-angle of the mirrored body: joints swapped, y and z negated."""
    flipped = pose.reshape(24, 3)[list(SMPL_FLIP)].copy()
    flipped[:, 1:] *= -1
    return flipped.reshape(72)


def _swap(joints: np.ndarray) -> np.ndarray:
    swapped = joints.copy()
    for left, right in FLIP_PAIRS:
        swapped[[left, right]] = joints[[right, left]]
    return swapped


def to_unit(points: np.ndarray, size: int) -> np.ndarray:
    """Crop pixels -> [−1, 1] (pixel centres: the mirror x -> size − 1 − x is u -> −u)."""
    return (2 * points + 1) / size - 1


class Pw3dShapeDataset(Dataset):
    """Persons cropped, augmented from (seed, epoch, index) (seed None: the test crops). Items: image
    (3, S, S), keypoints (17, 3) [−1, 1] and confidence, joints (17, 3) m root-relative later, pose
    (24, 3, 3), betas (10,), cam_t (3,) m (the translation that projects SMPL's joints of the item's pose
    and betas onto the keypoints), index."""

    def __init__(self, persons: list[Person], config: Pw3dShapeConfig, seed: int | None) -> None:
        self.persons, self.config, self.seed, self.epoch = persons, config, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.persons)

    def __getitem__(self, index: int) -> dict[str, Any]:
        config, person = self.config, self.persons[index]
        sample, size = person.sample, self.config.input_size
        rng = None if self.seed is None else np.random.default_rng([self.seed, self.epoch, index])
        noise, rotation, scale, flip = np.ones(3), 0.0, 1.0, False
        if rng is not None:
            if config.flip_p > 0 and rng.uniform() <= config.flip_p:
                flip = True
            noise = rng.uniform(1 - config.noise_factor, 1 + config.noise_factor, 3)
            limit = config.rotation_factor
            rotation = float(np.clip(rng.standard_normal() * limit, -2 * limit, 2 * limit))
            if rng.uniform() > config.rotation_p:
                rotation = 0.0
            factor = config.scale_factor
            scale = float(np.clip(rng.standard_normal() * factor + 1, 1 - factor, 1 + factor))
        matrix = crop_affine(sample.center, PIXEL_STD * sample.scale * scale, rotation, (size, size))
        image = read_image(sample.image)
        crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR)
        crop = np.clip(crop.astype(np.float64) * noise, 0, 255).astype(np.uint8)
        keypoints = to_unit(apply_affine(matrix, person.joints_2d), size)
        # the image turned by `rotation` about the crop centre: the camera-frame body turns alike about z
        radians = np.radians(rotation)
        turn = np.array(
            [[np.cos(radians), np.sin(radians), 0], [-np.sin(radians), np.cos(radians), 0], [0, 0, 1]]
        )
        joints = person.joints_cam @ turn.T
        # SMPL's joints of the turned pose: turned about J0; of the flipped pose, mirrored (SMPL's shape
        # space is mirror-symmetric, J0 on the plane of symmetry)
        relative = (person.joints_model - person.root) @ turn.T
        pose = sample.pose.copy()
        pose[:3] = cv2.Rodrigues(turn @ cv2.Rodrigues(pose[:3])[0])[0][:, 0]
        if flip:
            crop = crop[:, ::-1]
            keypoints = _swap(keypoints * [-1, 1])
            joints = _swap(joints * [-1, 1, 1])
            relative = _swap(relative * [-1, 1, 1])
            pose = flip_pose(pose)
        # RSC-Net's gt_cam_t: SMPL's joints of the item's pose onto the keypoints in pixels of SPIN's
        # 224 px crop, 0.5 · 224 · (u + 1)
        pixels = CAMERA_RES / 2 * (keypoints + 1)
        cam_t = estimate_translation(relative + person.root, pixels, config.focal_length, CAMERA_RES)
        return {
            "image": normalise(crop, config.normalisation),
            "keypoints": torch.from_numpy(np.concatenate([keypoints, np.ones((NUM_H36M, 1))], 1)).float(),
            "joints": torch.from_numpy(joints).float(),
            "pose": torch.from_numpy(rodrigues(pose.reshape(24, 3))).float(),
            "betas": torch.from_numpy(sample.betas[:10]).float(),
            "cam_t": torch.from_numpy(cam_t).float(),
            "index": index,
        }


def mean_parameters(training: list[Person]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HMR's starting Θ from the training persons: the mean 6D pose (144,), mean betas (10,) and the mean
    weak-perspective camera (3,) s, tx, ty, each fitted (least squares) to map SMPL's joints to the crop's
    [−1, 1] coordinates as u = s (X + tx), v = s (Y + ty)."""
    rotations = rodrigues(np.stack([p.sample.pose for p in training]).reshape(-1, 24, 3))
    pose = rotations[..., :2].reshape(len(training), 144).mean(axis=0)
    betas = np.stack([p.sample.betas[:10] for p in training]).mean(axis=0)
    cams = []
    for person in training:
        sample = person.sample
        matrix = crop_affine(sample.center, PIXEL_STD * sample.scale, 0.0, (CAMERA_RES, CAMERA_RES))
        uv = to_unit(apply_affine(matrix, person.joints_2d), CAMERA_RES)
        ones, zeros = np.ones(NUM_H36M), np.zeros(NUM_H36M)
        design = np.concatenate(
            [
                np.stack([person.joints_model[:, 0], ones, zeros], 1),
                np.stack([person.joints_model[:, 1], zeros, ones], 1),
            ]
        )
        s, a, b = np.linalg.lstsq(design, np.concatenate([uv[:, 0], uv[:, 1]]), rcond=None)[0]
        cams.append((s, a / s, b / s))
    return pose, betas, np.mean(cams, axis=0)


def estimate_translation(
    joints: np.ndarray, keypoints: np.ndarray, focal_length: float, image_size: float
) -> np.ndarray:
    """SPIN's estimate_translation_np (utils/geometry.py), batched, every joint at confidence 1 (as this
    task's keypoints): the translation t (..., 3) that brings 3D joints (..., J, 3) closest to 2D
    keypoints (..., J, 2) px under x = f (X + tx) / (Z + tz) + c, c = image_size / 2, by least squares
    of the linear rows [f, 0, c − x] t = (x − c) Z − f X and [0, f, c − y] t = (y − c) Z − f Y,
    t = (QᵀQ)⁻¹ Qᵀb."""
    joints, keypoints = np.asarray(joints, np.float64), np.asarray(keypoints, np.float64)
    centre = image_size / 2
    x, y = keypoints[..., 0], keypoints[..., 1]
    f, zeros = np.full_like(x, focal_length), np.zeros_like(x)
    rows = np.concatenate([np.stack([f, zeros, centre - x], -1), np.stack([zeros, f, centre - y], -1)], -2)
    right = np.concatenate(
        [
            (x - centre) * joints[..., 2] - focal_length * joints[..., 0],
            (y - centre) * joints[..., 2] - focal_length * joints[..., 1],
        ],
        -1,
    )
    transposed = np.swapaxes(rows, -1, -2)
    return np.linalg.solve(transposed @ rows, transposed @ right[..., None])[..., 0]


def camera_translation(cam: Tensor, focal_length: float) -> Tensor:
    """SPIN's / RSC-Net's weak-perspective camera (N, 3) s, tx, ty -> cam_t [tx, ty, 2f / (224 s)]."""
    return torch.stack([cam[:, 1], cam[:, 2], 2 * focal_length / (CAMERA_RES * cam[:, 0] + 1e-9)], dim=1)


def project(joints: Tensor, cam: Tensor, focal_length: float) -> Tensor:
    """SPIN's perspective projection of (N, J, 3) joints to [−1, 1] crop coordinates: cam_t = [tx, ty,
    2f / (224 s)], the principal point at the crop centre, pixels / 112."""
    points = joints + camera_translation(cam, focal_length)[:, None]
    return focal_length * points[..., :2] / points[..., 2:] / (CAMERA_RES / 2)


def camera_loss(cam: Tensor, cam_t: Tensor, kind: str, focal_length: float) -> Tensor:
    """The camera term, unweighted: "rsc-net", RSC-Net's MSE (mean over all elements) of the predicted
    cam_t against the ground truth's estimated one (N, 3); "spin", SPIN's (exp(−10 s))², which keeps the
    scale positive."""
    if kind == "spin":
        return torch.exp(-10 * cam[:, 0]).pow(2).mean()
    predicted = camera_translation(cam, focal_length)
    return functional.mse_loss(predicted, cam_t.to(predicted.dtype))


class Pw3dShape(Task):
    name = "pw3d-shape"
    Config = Pw3dShapeConfig

    def __init__(self, config, roots) -> None:
        super().__init__(config, roots)
        self._body: BodyModels | None = None
        self._smpl: nn.Module | None = None
        self._training: list[Person] | None = None

    @property
    def body(self) -> BodyModels:
        if self._body is None:
            self._body = BodyModels(self.roots["smpl"])
        return self._body

    def training_persons(self) -> list[Person]:
        if self._training is None:
            self._training = persons(self.roots["pw3d"], self.body, "train")
        return self._training

    def mean_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.config.mean_params == "training":
            return mean_parameters(self.training_persons())
        if self.config.mean_params != "file":
            raise SuiteError(
                f"unknown mean_params {self.config.mean_params!r}", fix='use "file" or "training"'
            )
        path = self.roots["smpl"] / MEAN_PARAMS
        if not path.is_file():
            raise DatasetError(
                "missing: HMR/SPIN's mean SMPL parameters",
                path,
                "put SPIN's smpl_mean_params.npz there, or start from the training persons' means with "
                "--set mean_params=training",
            )
        mean = read_mean_params(path)
        return mean.pose, mean.shape, mean.cam

    def build_model(self, trunk: ResNetTrunk) -> Hmr:
        pose, betas, cam = (torch.as_tensor(value) for value in self.mean_params())
        return Hmr(trunk, pose, betas, cam, self.config.iterations, self.config.regressor_relu)

    def train_set(self, seed: int) -> Pw3dShapeDataset:
        return Pw3dShapeDataset(self.training_persons(), self.config, seed)

    def smpl(self, device: torch.device) -> nn.Module:
        """The neutral SMPL (smplx) with its J_regressor_h36m, on the device."""
        if self._smpl is None:
            self._smpl = load_smpl(self.roots["smpl"], "neutral")
        return self._smpl.to(device)

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        config = self.config
        output: HmrOutput = model(batch["image"])
        smpl = self.smpl(output.rotmat.device)
        vertices = smpl(
            betas=output.betas,
            body_pose=output.rotmat[:, 1:],
            global_orient=output.rotmat[:, :1],
            pose2rot=False,
        ).vertices
        joints = torch.einsum("jv,nvc->njc", smpl.J_regressor_h36m, vertices)
        keypoints = batch["keypoints"]
        confidence = keypoints[..., 2:]
        loss_2d = (
            confidence * (project(joints, output.cam, config.focal_length) - keypoints[..., :2]) ** 2
        ).mean()
        loss_3d = functional.mse_loss(_mid_hips_relative(joints), _mid_hips_relative(batch["joints"]))
        loss_pose = functional.mse_loss(output.rotmat, batch["pose"])
        loss_betas = functional.mse_loss(output.betas, batch["betas"])
        loss_cam = camera_loss(output.cam, batch["cam_t"], config.camera_loss, config.focal_length)
        cam_weight = config.cam_scale_weight if config.camera_loss == "spin" else config.cam_t_weight
        loss = (
            config.keypoint_2d_weight * loss_2d
            + config.keypoint_3d_weight * loss_3d
            + config.pose_weight * loss_pose
            + config.betas_weight * loss_betas
            + cam_weight * loss_cam
        )
        logs = {
            "loss_2d": loss_2d,
            "loss_3d": loss_3d,
            "loss_pose": loss_pose,
            "loss_betas": loss_betas,
            "loss_cam": loss_cam,
        }
        if config.vertex_weight:
            truth = smpl(
                betas=batch["betas"],
                body_pose=batch["pose"][:, 1:],
                global_orient=batch["pose"][:, :1],
                pose2rot=False,
            ).vertices
            loss_vertices = functional.l1_loss(vertices, truth)
            loss = loss + config.vertex_weight * loss_vertices
            logs["loss_vertices"] = loss_vertices
        loss = config.loss_scale * loss
        return loss, {"loss": loss.detach(), **{key: value.detach() for key, value in logs.items()}}

    def optimizer(self) -> OptimizerSpec:
        config = self.config
        return OptimizerSpec("adam", config.lr, milestones=config.milestones, gamma=config.gamma)

    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        test = persons(self.roots["pw3d"], self.body, "test")
        outputs = predict(model, Pw3dShapeDataset(test, self.config, None), device, batch_size, workers)
        evaluation = evaluate_predictions(
            outputs, [person.sample for person in test], self.body, self.roots["pw3d"]
        )
        mean_pose = rot6d_to_rotmat(model.init_pose.detach().cpu().double().reshape(24, 6)).numpy()
        mean_betas = model.init_shape.detach().cpu().double().numpy()
        truth = evaluation.predictions["gt_joints"]
        evaluation.metrics |= mean_params_baseline(mean_pose, mean_betas, truth, self.body)
        return evaluation


def _mid_hips_relative(joints: Tensor) -> Tensor:
    return joints - (joints[:, R_HIP : R_HIP + 1] + joints[:, L_HIP : L_HIP + 1]) / 2


@torch.inference_mode()
def predict(
    model: nn.Module, data: Pw3dShapeDataset, device: torch.device, batch_size: int, workers: int
) -> dict[str, np.ndarray]:
    """The regressor's rotation matrices (N, 24, 3, 3), betas (N, 10) and cameras (N, 3) of the test crops."""
    model.eval()
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=workers)
    parts: dict[str, list[np.ndarray]] = {"pose": [], "betas": [], "cam": []}
    for batch in loader:
        output = model(batch["image"].to(device))
        parts["pose"].append(output.rotmat.double().cpu().numpy())
        parts["betas"].append(output.betas.double().cpu().numpy())
        parts["cam"].append(output.cam.double().cpu().numpy())
    return {key: np.concatenate(value) for key, value in parts.items()}


def evaluate_predictions(
    outputs: dict[str, np.ndarray], samples: list[SpinSample], body: BodyModels, pw3d: Path
) -> Evaluation:
    """The reconstruction error and MPJPE of predicted SMPL parameters against 3DPW's ground truth, the
    predictions and the test set as SPIN's 3dpw_test.npz."""
    pose = np.stack([sample.pose for sample in samples])
    betas = np.stack([sample.betas[:10] for sample in samples])
    genders = np.array([sample.gender for sample in samples])
    truth = body.ground_truth_joints(pose, betas, genders)
    predicted = body.predicted_joints(outputs["pose"], outputs["betas"])
    names = np.array([str(Path(sample.image).relative_to(pw3d)) for sample in samples])
    predictions = {
        **outputs,
        "joints": predicted,  # (N, 14, 3) mm, pelvis-relative LSP joints
        "gt_joints": truth,
        "imgname": names,
        "person": np.array([sample.person for sample in samples]),
    }
    buffer = io.BytesIO()
    np.savez(
        buffer,
        imgname=names,
        center=np.stack([sample.center for sample in samples]),
        scale=np.array([sample.scale for sample in samples]),
        pose=pose,
        shape=betas,
        gender=genders,
    )
    per_person = {
        "reconstruction_error": pa_mpjpe_per_sample(predicted, truth),
        "mpjpe": mpjpe_per_sample(predicted, truth),
    }
    ids = np.array([f"{name}#{sample.person}" for name, sample in zip(names, samples, strict=True)])
    return Evaluation(
        evaluate_joints(predicted, truth),
        predictions,
        {"3dpw_test.npz": buffer.getvalue()},
        mean_samples(ids, per_person),
    )


def mean_params_baseline(
    mean_pose: np.ndarray, mean_betas: np.ndarray, truth: np.ndarray, body: BodyModels
) -> dict[str, float]:
    """What a model that learned nothing predicts: the regressor's starting pose (24, 3, 3) and betas (10,)
    for every test person, as `baseline/<metric>`."""
    n = len(truth)
    guess = body.predicted_joints(
        np.broadcast_to(mean_pose, (n, 24, 3, 3)), np.broadcast_to(mean_betas, (n, 10))
    )
    return {f"baseline/{key}": value for key, value in evaluate_joints(guess, truth).items()}
