"""`python -m suite pretrain`: build a registered method at a profile's scale and train it on a dataset.

Stage II of the paper's two-stage recipe is a second run with --init pointing at stage I's
checkpoint (ours or any official one: it goes through the importers). Each run also draws
the real skeletons of the kinematic prior (Figure 7) and, for methods that lift, the skeletons
lifted from a few images (Figures 5 and 8).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from suite.data.kinematic_prior import sample_skeletons
from suite.data.pretrain_data import pretrain_dataset
from suite.data.views import TwoViewAugment, augment_options
from suite.figures import lifted_skeletons, skeleton_grid
from suite.models.backbone import ResNetTrunk
from suite.pretrain.catalog import METHODS
from suite.pretrain.method import Method
from suite.profiles import PretrainProfile, pretrain_profile

FIGURE_IMAGES = 4  # images whose lifted skeletons are drawn
FIGURE_SKELETONS = 24  # real skeletons drawn


def method_config(name: str, profile: PretrainProfile, variant: str | None = None, **changes):
    """The class of method `name` and its Config: the paper defaults (or a named variant's, e.g.
    LiftedCL's "official"), the profile's overrides and any explicit changes (checked and typed)."""
    fields = {field.name for field in dataclasses.fields(METHODS.get(name).settings)}
    scaled = {key: value for key, value in profile.overrides_for(name).items() if key in fields}
    config = METHODS.settings(name, changes={**scaled, **changes}, variant=variant)
    return METHODS.load(name), config


def build_method(
    name: str, profile: PretrainProfile, variant: str | None = None, weights: dict | None = None, **changes
) -> Method:
    """The method `name` configured as method_config says; its backbone starts from `weights` if given."""
    cls, config = method_config(name, profile, variant, **changes)
    return cls(lambda: ResNetTrunk(profile.arch, init=config.init, weights=weights), config)


def pretrain(
    method: str,
    data: Path,
    profile: str,
    out: Path,
    *,
    init: Path | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    resume: bool = False,
    variant: str | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    changes: dict | None = None,
) -> Path:
    from suite.checkpoints.importers import import_backbone
    from suite.pretrain.checkpoint import latest
    from suite.pretrain.trainer import train

    settings = pretrain_profile(profile)
    if batch_size is not None:
        settings = dataclasses.replace(settings, batch_size=batch_size)
    if epochs is not None:
        settings = dataclasses.replace(settings, epochs=epochs)
    if resume and latest(out) is None:
        print(f"no checkpoint in {out} yet: starting from step 0")
        resume = False
    backbone = None
    if init is not None and not resume:  # a resumed run takes its weights from its checkpoint
        backbone, report = import_backbone(init)
        print(report)
    torch.manual_seed(seed)  # the initial weights follow --seed
    model = build_method(method, settings, variant, backbone, **(changes or {}))
    augment = TwoViewAugment(augment_options(model.augmentation, settings.image_size))
    dataset = pretrain_dataset(data, augment, seed)
    checkpoint = train(model, dataset, settings, out, seed=seed, max_steps=max_steps, resume=resume)
    draw_figures(model, dataset, out, seed)
    return checkpoint


def draw_figures(model: Method, dataset, out: Path, seed: int) -> None:
    """Figure 7 (real skeletons) and, for a lifting method, Figures 5/8 (lifted skeletons)."""
    skeleton_grid(
        sample_skeletons(FIGURE_SKELETONS, seed),
        out / "figures" / "real_skeletons.png",
        title="Real skeletons",
    )
    if not hasattr(model, "lift"):
        return
    items = [dataset[i] for i in range(min(FIGURE_IMAGES, len(dataset)))]
    views = torch.stack([item[0] for item in items])
    model.eval()
    skeletons = model.lift(views.to(next(model.parameters()).device)).cpu().numpy()
    mean, std = np.array(dataset.augment.options.mean), np.array(dataset.augment.options.std)
    images = ((views.permute(0, 2, 3, 1).numpy() * std + mean).clip(0, 1) * 255).astype(np.uint8)
    lifted_skeletons(images, skeletons, out / "figures" / "lifted_skeletons.png", title="Lifted skeletons")
