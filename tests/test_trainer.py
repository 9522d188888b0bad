"""The trainer: exact resumption, the learning-rate schedule, NaN stops, complete checkpoints.

A toy MoCo-like method (ResNet-18 trunk, linear head, momentum copy, queue, shuffle BN, a second
optimiser with a constant learning rate, and draws from every global RNG) trains on a few random
images at 32 px.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn
from torch.utils.data import Dataset

from suite.data.views import ViewBatch
from suite.errors import SuiteError
from suite.models.backbone import ResNetTrunk
from suite.pretrain import checkpoint, trainer
from suite.pretrain.catalog import METHODS
from suite.pretrain.contrastive import Queue, info_nce, momentum_copy, momentum_update
from suite.pretrain.method import Method, StepOutput, Stepper, register
from suite.profiles import PretrainProfile
from suite.training.loop import native_bf16
from suite.training.process import shuffled_forward
from suite.training.schedules import OptimSpec

HOOKS: dict[str, int | None] = {"raise_at": None, "nan_at": None}  # 1-based step numbers


class Killed(RuntimeError):
    """Stands for a job killed in the middle of a step."""


@dataclass(frozen=True)
class ToyConfig:
    dim: int = 8
    queue_size: int = 16
    momentum: float = 0.9
    temperature: float = 0.2
    critic_lr: float = 0.01


class Toy(Method):
    name: ClassVar[str] = "toy-trainer-test"
    Config: ClassVar[type] = ToyConfig

    def __init__(self, backbone, config: ToyConfig) -> None:
        super().__init__(backbone, config)
        self.trunk_q = backbone()
        self.head_q = nn.Linear(self.trunk_q.num_channels, config.dim)
        self.trunk_k, self.head_k = momentum_copy(self.trunk_q), momentum_copy(self.head_q)
        self.queue = Queue(config.dim, config.queue_size)
        self.critic = nn.Linear(config.dim, 1)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.seen: list[Tensor] = []  # the dataset indices of every batch, in order

    def _key(self, x: Tensor) -> Tensor:
        return F.normalize(self.head_k(self.trunk_k(x).mean(dim=(2, 3))), dim=1)

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        self.calls += 1
        if HOOKS["raise_at"] == int(self.calls):
            raise Killed(f"killed at step {int(self.calls)}")
        self.seen.append(batch.index.clone())
        momentum_update(self.trunk_q, self.trunk_k, self.config.momentum)
        momentum_update(self.head_q, self.head_k, self.config.momentum)
        # dropout and a temperature jitter draw from torch's, numpy's and python's global RNGs,
        # which a resumed run must therefore restore
        features = F.dropout(self.trunk_q(batch.views[0]).mean(dim=(2, 3)), 0.1)
        q = F.normalize(self.head_q(features), dim=1)
        k = shuffled_forward(self._key, batch.views[1])
        jitter = 1.0 + 0.01 * (np.random.rand() + random.random())  # noqa: NPY002
        loss = info_nce(q, k, self.queue.keys.clone(), self.config.temperature * jitter)
        if HOOKS["nan_at"] == int(self.calls):
            loss = loss * float("nan")
        self.queue.push(k)
        # q leaves as float32 also under autocast: the critic steps outside it
        return StepOutput(loss, {"loss_nce": loss.detach()}, {"q": q.detach().float()})

    def optimizer_groups(self, encoder: OptimSpec):
        query = [*self.trunk_q.parameters(), *self.head_q.parameters()]
        critic = OptimSpec(self.config.critic_lr, 0.9, 1e-4, "constant")
        return {"encoder": (query, encoder), "critic": (list(self.critic.parameters()), critic)}

    def extra_steps(self, output: StepOutput, steppers: dict[str, Stepper]) -> dict[str, Tensor]:
        loss = self.critic(output.extras["q"]).pow(2).mean()
        steppers["critic"].step(loss)
        return {"loss_critic": loss.detach()}

    def backbone(self) -> nn.Module:
        return self.trunk_q


if Toy.name not in METHODS:
    register(Toy)


class ToyData(Dataset):
    """n random images; each view is the image plus noise seeded by (seed, epoch, index)."""

    def __init__(self, n: int, size: int = 32, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.images = torch.from_numpy(rng.standard_normal((n, 3, size, size), dtype=np.float32))
        self.geometry = torch.from_numpy(rng.uniform(0, size, (n, 2, 7)).astype(np.float32))
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, index])
        noise = torch.from_numpy(rng.standard_normal((2, *self.images.shape[1:]), dtype=np.float32))
        return self.images[index] + noise[0], self.images[index] + noise[1], self.geometry[index], index

    @staticmethod
    def collate(items) -> ViewBatch:
        v1, v2, geometry, index = zip(*items, strict=True)
        geometry = torch.stack(geometry)
        return ViewBatch(
            (torch.stack(v1), torch.stack(v2)), (geometry[:, 0], geometry[:, 1]), torch.tensor(index)
        )


class ToySampler:
    """EpochSampler's interface: this rank's share of a permutation seeded by (seed, epoch)."""

    def __init__(self, length: int, world_size: int, rank: int, seed: int, drop_last: bool = True) -> None:
        self.length, self.world_size, self.rank, self.seed = length, world_size, rank, seed
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def order(self) -> list[int]:
        """The global order of the epoch; rank r takes items r, r + W, r + 2W, ..."""
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        return torch.randperm(self.length, generator=generator).tolist()

    def _mine(self) -> list[int]:
        used = self.length // self.world_size * self.world_size
        return self.order()[self.rank : used : self.world_size][self.start :]

    def __iter__(self):
        return iter(self._mine())

    def __len__(self) -> int:
        return len(self._mine())


# 17 images, global batch 4: 4 steps per epoch (one image left out), 2 epochs = 8 steps
PROFILE = PretrainProfile(
    arch="resnet18",
    image_size=32,
    batch_size=4,
    epochs=2,
    optim=OptimSpec(lr=0.05, momentum=0.9, weight_decay=1e-4, schedule="cosine"),
    workers=0,
    checkpoint_every=3,
)
N_IMAGES, STEPS = 17, 8


def toy(seed: int = 0) -> Toy:
    torch.manual_seed(seed)
    return Toy(lambda: ResNetTrunk("resnet18"), ToyConfig())


def run(out: Path, **kwargs) -> Path:
    return trainer.train(toy(), ToyData(N_IMAGES), kwargs.pop("profile", PROFILE), out, seed=3, **kwargs)


REAL_SAMPLER = trainer._epoch_sampler  # suite.data.pretrain_data.EpochSampler


@pytest.fixture(autouse=True)
def _toy_sampler_and_no_hooks(monkeypatch):
    monkeypatch.setattr(trainer, "_epoch_sampler", ToySampler)
    HOOKS.update(raise_at=None, nan_at=None)
    yield
    HOOKS.update(raise_at=None, nan_at=None)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The uninterrupted 8-step run (its sampler patched by hand: module fixtures run first)."""
    out = tmp_path_factory.mktemp("straight")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer, "_epoch_sampler", ToySampler)
        run(out)
    return out


def log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def assert_identical(a, b, where: str = "checkpoint") -> None:
    """Recursively equal, tensors bit for bit (and of the same dtype)."""
    if isinstance(a, Tensor):
        assert isinstance(b, Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_a_run_killed_mid_step_resumes_bit_identically(straight, tmp_path):
    HOOKS["raise_at"] = 6  # dies in step 6; the last checkpoint is step 3, mid-epoch 0
    with pytest.raises(Killed):
        run(tmp_path)
    assert checkpoint.load(tmp_path / "checkpoint.pt")["step"] == 3
    HOOKS["raise_at"] = None
    run(tmp_path, resume=True)
    a, b = checkpoint.load(straight / "checkpoint.pt"), checkpoint.load(tmp_path / "checkpoint.pt")
    assert a["step"] == b["step"] == STEPS
    assert_identical(a, b)  # weights, queue and pointer, both optimisers, RNG states, backbone
    assert log(tmp_path) == log(straight)  # every step's losses once, bit for bit, in order
    # TensorBoard hides what the killed attempt logged after its checkpoint (steps 4 and 5)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload().Scalars("loss_nce")
    assert [(e.step, e.value) for e in events] == [
        (line["step"], pytest.approx(line["loss_nce"])) for line in log(straight)
    ]


def test_a_run_cut_by_max_steps_is_a_prefix_and_resumes_bit_identically(straight, tmp_path):
    run(tmp_path, max_steps=6)  # stops in epoch 1 after 2 of its 4 batches
    saved = checkpoint.load(tmp_path / "checkpoint.pt")
    assert (saved["step"], saved["epoch"], saved["position"], saved["total_steps"]) == (6, 1, 2, STEPS)
    assert log(tmp_path) == log(straight)[:6]  # same learning rates: the schedule still spans 8 steps
    run(tmp_path, resume=True)
    assert_identical(checkpoint.load(straight / "checkpoint.pt"), checkpoint.load(tmp_path / "checkpoint.pt"))


def test_learning_rates_follow_the_schedule_by_hand(straight, tmp_path):
    # "cosine" is per epoch (official codes): 0.05 in epoch 0, 0.05·½(1 + cos(π/2)) = 0.025 in epoch 1
    assert [line["lr/encoder"] for line in log(straight)] == pytest.approx([0.05] * 4 + [0.025] * 4)
    assert [line["lr/critic"] for line in log(straight)] == [0.01] * STEPS  # constant
    per_step = PretrainProfile(**{**PROFILE.__dict__, "optim": OptimSpec(0.05, schedule="cosine_per_step")})
    run(tmp_path, profile=per_step, max_steps=3)
    expected = [0.05, 0.05 * (1 + math.cos(math.pi / 8)) / 2, 0.05 * (1 + math.cos(math.pi / 4)) / 2]
    assert [line["lr/encoder"] for line in log(tmp_path)] == pytest.approx(expected, rel=1e-12)


def test_learning_rate_function():
    spec = OptimSpec(lr=0.03, schedule="cosine")
    # 200 epochs of 10 steps: step 1005 is in epoch 100, half-way: 0.015
    assert spec.lr_at(1005, 10, 200) == pytest.approx(0.015)
    step_spec = OptimSpec(lr=0.03, schedule="cosine_per_step")
    assert step_spec.lr_at(500, 10, 200) == pytest.approx(0.03 * (1 + math.cos(math.pi / 4)) / 2)
    assert OptimSpec(lr=0.03, schedule="constant").lr_at(1999, 10, 200) == 0.03
    with pytest.raises(SuiteError, match="schedule"):
        OptimSpec(schedule="linear")


def test_nan_loss_stops_with_the_step_and_terms_and_keeps_the_last_checkpoint(tmp_path):
    HOOKS["nan_at"] = 5
    with pytest.raises(SuiteError, match=r"not finite at step 5 \(epoch 1\): loss_nce=nan") as error:
        run(tmp_path)
    assert "holds step 3" in str(error.value)
    saved = checkpoint.load(tmp_path / "checkpoint.pt")
    assert saved["step"] == 3 and all(
        torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point()
    )


def test_checkpoint_is_complete_and_exports(straight):
    assert sorted(p.name for p in straight.iterdir()) == ["checkpoint.pt", "log.jsonl", "tensorboard"]
    assert any((straight / "tensorboard").iterdir())
    saved = checkpoint.load(straight / "checkpoint.pt")
    assert (saved["format"], saved["version"], saved["method"]) == ("suite-pretrain", 1, "toy-trainer-test")
    assert set(saved["optimizers"]) == {"encoder", "critic"} and len(saved["rng"]) == 1
    assert saved["config"] == ToyConfig().__dict__ and saved["profile"]["batch_size"] == 4
    assert {"queue.keys", "queue.pointer", "trunk_k.conv1.weight", "calls"} <= saved["model"].keys()
    assert int(saved["model"]["queue.pointer"]) == STEPS * 4 % 16
    resnet = torchvision.models.resnet18()
    missing, unexpected = resnet.load_state_dict(
        checkpoint.read_backbone(straight / "checkpoint.pt"), strict=False
    )
    assert (sorted(missing), unexpected) == (["fc.bias", "fc.weight"], [])
    assert torch.equal(
        saved["backbone"]["layer4.1.bn2.weight"], saved["model"]["trunk_q.layer4.1.bn2.weight"]
    )
    from suite.checkpoints.importers import import_backbone

    trunk, report = import_backbone(straight / "checkpoint.pt")
    assert report.ok and torch.equal(trunk["conv1.weight"], saved["model"]["trunk_q.conv1.weight"])


def test_truncated_checkpoint_is_named_on_resume(straight, tmp_path):
    data = (straight / "checkpoint.pt").read_bytes()
    (tmp_path / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(SuiteError, match=r"checkpoint\.pt: cannot be read as a checkpoint, it is truncated"):
        run(tmp_path, resume=True)


def test_resume_refuses_another_run_and_start_refuses_a_used_folder(straight, tmp_path):
    with pytest.raises(SuiteError, match=r"another run: seed: checkpoint 3, now 4"):
        trainer.train(toy(), ToyData(N_IMAGES), PROFILE, straight, seed=4, resume=True)
    with pytest.raises(SuiteError, match="already holds a checkpoint"):
        run(straight)
    with pytest.raises(SuiteError, match="no checkpoint to resume from"):
        run(tmp_path, resume=True)


def test_real_views_and_sampler_resume_bit_identically(tmp_path, monkeypatch):
    """suite.data.pretrain_data on a tiny generic set, with the real EpochSampler and its start."""
    from suite.data.pretrain_data import pretrain_dataset
    from suite.data.synth import generic
    from suite.data.views import TwoViewAugment, augment_options

    monkeypatch.setattr(trainer, "_epoch_sampler", REAL_SAMPLER)
    generic.write(tmp_path / "generic", 10, np.random.default_rng(0))
    data = pretrain_dataset(tmp_path / "generic", TwoViewAugment(augment_options("mocov2", 32)), seed=0)
    assert len(data) == 10  # 2 steps per epoch, 4 in all
    full, cut = tmp_path / "full", tmp_path / "cut"
    trainer.train(toy(), data, PROFILE, full, seed=3)
    trainer.train(toy(), data, PROFILE, cut, seed=3, max_steps=3)  # stops mid-epoch 1
    method = toy()
    trainer.train(method, data, PROFILE, cut, seed=3, resume=True)
    assert_identical(checkpoint.load(full / "checkpoint.pt"), checkpoint.load(cut / "checkpoint.pt"))
    assert log(cut) == log(full)
    # the resumed run saw the rest of epoch 1: the half of its permutation the cut run had not
    order = np.random.default_rng([3, 1]).permutation(10).tolist()
    assert method.seen[0].tolist() == order[4:8]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on a GPU machine)")
def test_on_a_gpu_with_bf16_and_channels_last_a_killed_run_resumes_bit_identically(tmp_path, monkeypatch):
    """The GPU paths: bf16 autocast, channels_last, CUDA RNG states saved and restored."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    gpu = dataclasses.replace(PROFILE, bf16=True, channels_last=True)
    run(tmp_path / "straight", profile=gpu, device="cuda")
    HOOKS["raise_at"] = 6
    with pytest.raises(Killed):
        run(tmp_path / "resumed", profile=gpu, device="cuda")
    HOOKS["raise_at"] = None
    run(tmp_path / "resumed", profile=gpu, device="cuda", resume=True)
    a = checkpoint.load(tmp_path / "straight" / "checkpoint.pt")
    b = checkpoint.load(tmp_path / "resumed" / "checkpoint.pt")
    assert a["rng"][0]["cuda"] is not None
    assert_identical(a, b)
    assert log(tmp_path / "resumed") == log(tmp_path / "straight")


@pytest.mark.skipif(not native_bf16(torch.device("cpu")), reason="needs a CPU with AVX512-BF16 or AMX")
def test_on_a_cpu_with_native_bf16_autocast_runs_and_a_killed_run_resumes_bit_identically(straight, tmp_path):
    bf16 = dataclasses.replace(PROFILE, bf16=True)
    run(tmp_path / "straight", profile=bf16)
    HOOKS["raise_at"] = 6
    with pytest.raises(Killed):
        run(tmp_path / "resumed", profile=bf16)
    HOOKS["raise_at"] = None
    run(tmp_path / "resumed", profile=bf16, resume=True)
    a = checkpoint.load(tmp_path / "straight" / "checkpoint.pt")
    assert_identical(a, checkpoint.load(tmp_path / "resumed" / "checkpoint.pt"))
    assert log(tmp_path / "resumed") == log(tmp_path / "straight")
    fp32 = checkpoint.load(straight / "checkpoint.pt")["model"]
    assert any(not torch.equal(a["model"][key], fp32[key]) for key in fp32)  # autocast was in effect
    assert all(value.dtype == fp32[key].dtype for key, value in a["model"].items())  # weights stay fp32


def test_bf16_is_left_off_where_the_device_would_emulate_it(straight, tmp_path, monkeypatch):
    from suite.training import loop

    monkeypatch.setattr(loop, "native_bf16", lambda device: False)
    run(tmp_path, profile=dataclasses.replace(PROFILE, bf16=True))
    a, b = (checkpoint.load(out / "checkpoint.pt")["model"] for out in (straight, tmp_path))
    assert_identical(a, b)


def test_native_bf16_reads_the_cpus_features(monkeypatch):
    for avx512_bf16, amx in ((False, False), (True, False), (False, True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v, raising=False)
        assert native_bf16(torch.device("cpu")) == (avx512_bf16 or amx)
    assert native_bf16(torch.device("cuda"))


def test_in_a_slurm_job_its_cpus_load_the_data_and_nothing_computed_changes(straight, tmp_path, monkeypatch):
    from suite.training import loop

    started = []
    real = loop.DataLoader
    monkeypatch.setattr(loop, "DataLoader", lambda *a, **k: started.append(k["num_workers"]) or real(*a, **k))
    monkeypatch.setenv(loop.CPUS_ENV, "3")
    run(tmp_path)
    assert started == [2]  # the training process keeps one CPU
    assert_identical(checkpoint.load(straight / "checkpoint.pt"), checkpoint.load(tmp_path / "checkpoint.pt"))
    assert log(tmp_path) == log(straight)
    assert loop.loader_workers(8) == 2
    monkeypatch.delenv(loop.CPUS_ENV)
    assert loop.loader_workers(8) == 8  # elsewhere the profile's
    monkeypatch.setenv(loop.CPUS_ENV, "x")
    with pytest.raises(SuiteError, match="SLURM_CPUS_PER_TASK"):
        loop.loader_workers(8)
