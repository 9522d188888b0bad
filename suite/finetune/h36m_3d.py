"""Human3.6M 3D pose with RLE (Table 4): "h36m-3d", the protocol of Li et al. (2021) as the paper uses it.

Source: Jeff-sjtu/res-loglikelihood-regression, configs/256x192_res50_3d_h36mmpii-flow.yaml,
rlepose/trainer.py (validate_gt_3d), rlepose/datasets/h36m.py (evaluate); downstream-protocols.md §4.

Training: RegressFlow3D (rle.py) with RLELoss3D on Human3.6M S1, 5, 6, 7, 8 (the RLE annotations,
blocked S9 sequences left out by the reader) mixed 1:1 with MPII (rle_data.py); Adam lr 1e-3 without
weight decay, MultiStepLR x0.1 at epochs 90 and 120, 200 epochs, global batch 128, each parameter
tensor's gradient clipped to norm 35 on its own.

Test (S9, S11, every 64th frame): ground-truth boxes; flip test: the mirrored crop's prediction
x -> −x − 1/input_size (RLE's shift 1/(64·4) at 256 px: one input pixel), pairs swapped, averaged
with the direct prediction (σ averaged without the swap, as the official code); depth relative to the
predicted pelvis. Back-projection: (μ + 0.5)·size crop pixels -> image pixels by the crop's inverse
affine; Z = d·2000 + the ground-truth pelvis depth; pixels -> camera with the ground-truth
intrinsics. Both poses root-aligned; MPJPE over the 17 joints (thorax out, pelvis in with its zero
error), PA-MPJPE (suite.evaluate.mpjpe), and MPJPE per action.

Table 9's "+ prior" (`prior=True`, suite/finetune/prior.py): a lifting head on the trunk's C5, trained
beside RLE's head with the reprojection loss against the targets' x, y of the 17 Human3.6M joints
(weighted as the targets, so MPII's missing joints drop out) and the kinematic prior's penalty. The
test is unchanged; the head is only trained.

Deviations (Config options keep the official behaviour where one exists):
- normalisation "rgb" (ImageNet statistics in RGB order) by default: the images and every SSL
  backbone are RGB; `normalisation="official"` is RLE's BGR-ordered statistics on RGB images.
- The final epoch's model is reported; the official code evaluates on the test set every 2 epochs and
  keeps the best, which is model selection on the test set.
- MPII is read in the HRNet layout (annot/train.json; whether RLE's annot_mpii.json holds the same
  persons is not checked); an unlabelled joint has weight 0 (RLE's loader gives every x, y weight 1);
  a person's box is HRNet's (side 200·scale about the centre moved down 15·scale), enlarged x1.25
  as RLE's MPII loader does.
- Augmentation is drawn from (seed, epoch, index) rather than the global RNG (the official data
  workers all reseed it alike); the crop affine is solved in float64 rather than float32.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from suite.data.affine import apply_affine, crop_affine, invert_affine
from suite.data.h36m import RleSample, read_rle
from suite.data.layouts import H36M_RLE_ANNOTATIONS, H36M_TEST_SUBJECTS, MPII_ANNOTATIONS, MPII_IMAGES
from suite.data.mpii import read_annotations
from suite.data.skeleton import FLIP_PAIRS, ROOT
from suite.errors import DatasetError
from suite.evaluate.mpjpe import mpjpe, mpjpe_per_sample, pa_mpjpe, pa_mpjpe_per_sample
from suite.evaluate.samples import mean_samples
from suite.finetune.h36m_3d_settings import H36m3dConfig
from suite.finetune.prior import LiftingHead, prior_loss
from suite.finetune.rle import RegressFlow3D, rle_loss_3d
from suite.finetune.rle_data import EVAL_JOINTS, NUM_JOINTS, RleDataset, h36m_person, mpii_person, with_thorax
from suite.finetune.task import Evaluation, Task
from suite.models.backbone import ResNetTrunk
from suite.training.schedules import OptimizerSpec

# Human3.6M's actions 2..16, as RLE names them for the per-action MPJPE.
ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
)  # fmt: skip
FIRST_ACTION = 2


class Human36m3d(Task):
    name = "h36m-3d"
    Config = H36m3dConfig

    def build_model(self, trunk: ResNetTrunk) -> RegressFlow3D:
        """RLE's model; with `prior` also a lifting head on its trunk (`.lifting`, used in training)."""
        model = RegressFlow3D(trunk, trunk.num_channels, NUM_JOINTS)
        if self.config.prior:
            model.lifting = LiftingHead(trunk.num_channels)
        return model

    def train_set(self, seed: int) -> RleDataset:
        config = self.config
        samples = read_rle(self.roots["h36m"], "train").samples
        leaked = sorted({sample.subject for sample in samples} & set(H36M_TEST_SUBJECTS))
        if leaked:
            raise DatasetError(
                f"holds frames of the test subjects {leaked}; training must not see them",
                self.roots["h36m"] / H36M_RLE_ANNOTATIONS["train"],
                "use RLE's training file of S1, 5, 6, 7, 8 (Sample_trainmin_train_Human36M_protocol_2.json)",
            )
        h36m = [h36m_person(sample, config.h36m_scale_mult) for sample in samples]
        mpii_root = self.roots["mpii"]
        annotations = mpii_root / MPII_ANNOTATIONS.format(split="train")
        persons = read_annotations(annotations, mpii_root / MPII_IMAGES)
        mpii = [
            mpii_person(person, mpii_root / MPII_IMAGES, config.mpii_scale_mult)
            for person in persons
            if person.center[0] != -1 and person.joints_vis.sum() >= 1  # a box and a labelled joint
        ]
        if not h36m or not mpii:
            empty = annotations if not mpii else self.roots["h36m"]
            raise DatasetError(
                "no training persons", empty, "check the dataset with python -m suite data check"
            )
        return RleDataset(h36m, mpii, config, seed)

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """RLELoss3D; with `prior` plus the lifted pose's terms (prior.py) against the targets' x, y of the
        17 Human3.6M joints, weighted as the targets (0 where an MPII person has no joint)."""
        features = model.trunk(batch["image"])
        output = model.head(features)
        loss = rle_loss_3d(model, output, batch["target"], batch["weight"])
        sigma = output.sigma.detach().mean()
        if not self.config.prior:
            return loss, {"loss": loss.detach(), "sigma": sigma}
        joints = batch["target"][:, :EVAL_JOINTS, :2]
        weight = batch["weight"][:, :EVAL_JOINTS, :2].amin(dim=2)
        loss, logs = prior_loss(loss, model.lifting(features), joints, weight, self.config)
        return loss, logs | {"sigma": sigma}

    def optimizer(self) -> OptimizerSpec:
        config = self.config
        return OptimizerSpec(
            "adam",
            config.lr,
            milestones=config.milestones,
            gamma=config.gamma,
            clip_grad_norm=config.clip_grad_norm,
        )

    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        samples = read_rle(self.roots["h36m"], "test").samples
        if not samples:
            raise DatasetError(
                "no test frames", self.roots["h36m"], "check the dataset with python -m suite data check"
            )
        data = RleDataset(
            [h36m_person(s, self.config.h36m_scale_mult) for s in samples], (), self.config, None
        )
        outputs = predict(model, data, self.config, device, batch_size, workers)
        evaluation = evaluate_predictions(outputs, samples, self.config)
        training = read_rle(self.roots["h36m"], "train").samples
        evaluation.metrics |= mean_pose_baseline(training, evaluation.predictions["gt_joints_cam"])
        return evaluation


@torch.inference_mode()
def predict(
    model: nn.Module,
    data: RleDataset,
    config: H36m3dConfig,
    device: torch.device,
    batch_size: int,
    workers: int,
) -> dict[str, np.ndarray]:
    """The model's μ (N, 18, 3) with the depth relative to its pelvis, flip-tested if the config says so,
    its σ and scores (1 − mean σ), and each crop's centre and scale."""
    model.eval()
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=workers)
    parts: dict[str, list[np.ndarray]] = {"coords": [], "sigma": [], "score": [], "center": [], "scale": []}
    for batch in loader:
        images = batch["image"].to(device)
        coords, sigma = _relative_to_root(model(images))
        score = 1 - sigma.mean(dim=2)
        if config.flip_test:
            flipped, flipped_sigma = _relative_to_root(model(images.flip(3)))
            flipped_score = 1 - flipped_sigma.mean(dim=2)
            coords = (coords + flip_back(flipped, config.input_size)) / 2
            score = (score + _swap_pairs(flipped_score)) / 2
            sigma = (sigma + flipped_sigma) / 2  # not swapped, as the official code
        for key, value in (("coords", coords), ("sigma", sigma), ("score", score)):
            parts[key].append(value.cpu().double().numpy())
        parts["center"].append(batch["center"].numpy())
        parts["scale"].append(batch["scale"].numpy())
    return {key: np.concatenate(value) for key, value in parts.items()}


def _relative_to_root(output) -> tuple[Tensor, Tensor]:
    """RegressFlow3D's test-time μ: the depth made relative to the predicted pelvis."""
    coords = output.coords.clone()
    coords[..., 2] = coords[..., 2] - coords[:, ROOT : ROOT + 1, 2]
    return coords, output.sigma


def _swap_pairs(values: Tensor) -> Tensor:
    swapped = values.clone()
    for left, right in FLIP_PAIRS:
        swapped[:, [left, right]] = values[:, [right, left]]
    return swapped


def flip_back(coords: Tensor, size: int) -> Tensor:
    """μ predicted on the mirrored crop, in the unmirrored crop's terms: x -> −x − 1/size, pairs swapped
    (RLE's flip_coord with shift: a pixel x of the mirror is size − 1 − x)."""
    coords = coords.clone()
    coords[..., 0] = -coords[..., 0] - 1 / size
    return _swap_pairs(coords)


def back_project(
    coords: np.ndarray, center: np.ndarray, scale: np.ndarray, samples: list[RleSample], config: H36m3dConfig
) -> np.ndarray:
    """Camera-frame joints (N, 18, 3) in mm from μ (N, 18, 3): crop -> image pixels by each crop's inverse
    affine, Z = d·bbox_3d_shape + the ground-truth pelvis depth, pixels -> camera by the ground-truth
    intrinsics."""
    size = config.input_size
    joints = np.empty_like(coords)
    for n, sample in enumerate(samples):
        to_image = invert_affine(crop_affine(center[n], scale[n, 0], 0.0, (size, size)))
        uv = apply_affine(to_image, (coords[n, :, :2] + 0.5) * size)
        z = coords[n, :, 2] * config.bbox_3d_shape + sample.joints_cam[ROOT, 2]
        joints[n, :, :2] = (uv - sample.camera.c) / sample.camera.f * z[:, None]
        joints[n, :, 2] = z
    return joints


def evaluate_predictions(
    outputs: dict[str, np.ndarray], samples: tuple[RleSample, ...] | list[RleSample], config: H36m3dConfig
) -> Evaluation:
    """MPJPE, PA-MPJPE and MPJPE per action of the predictions against the ground truth (H36m.evaluate)."""
    samples = list(samples)
    predicted = back_project(outputs["coords"], outputs["center"], outputs["scale"], samples, config)
    truth = np.stack([with_thorax(sample.joints_cam) for sample in samples])
    predicted = (predicted - predicted[:, ROOT : ROOT + 1])[:, :EVAL_JOINTS]
    truth = (truth - truth[:, ROOT : ROOT + 1])[:, :EVAL_JOINTS]
    actions = np.array([sample.action for sample in samples])
    metrics = {"mpjpe": mpjpe(predicted, truth), "pa_mpjpe": pa_mpjpe(predicted, truth)}
    for number, action in enumerate(ACTIONS, start=FIRST_ACTION):
        chosen = actions == number
        if chosen.any():
            metrics[f"mpjpe/{action}"] = mpjpe(predicted[chosen], truth[chosen])
    predictions = {
        "joints_cam": predicted,  # root-relative, mm, the 17 evaluated joints
        "gt_joints_cam": truth,
        "uvd": outputs["coords"],  # normalised, all 18 joints
        "sigma": outputs["sigma"],
        "score": outputs["score"],
        "image_id": np.array([sample.image_id for sample in samples]),
        "action": actions,
    }
    per_frame = {
        "mpjpe": mpjpe_per_sample(predicted, truth),
        "pa_mpjpe": pa_mpjpe_per_sample(predicted, truth),
    }
    return Evaluation(metrics, predictions, samples=mean_samples(predictions["image_id"], per_frame))


def mean_pose_baseline(training: tuple[RleSample, ...], truth: np.ndarray) -> dict[str, float]:
    """What a model that learned no more than the average pose scores: `baseline/<metric>` of the mean
    root-relative training pose against every test pose (N, 17, 3), mm."""
    poses = np.stack([sample.joints_cam - sample.joints_cam[ROOT] for sample in training])
    guess = np.broadcast_to(poses.mean(axis=0)[: truth.shape[1]], truth.shape)
    return {"baseline/mpjpe": mpjpe(guess, truth), "baseline/pa_mpjpe": pa_mpjpe(guess, truth)}
