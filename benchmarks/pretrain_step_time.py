"""Step time of every pre-training method relative to MoCo-v2, at the demo and paper shapes, on this
machine's device (not a test: speed is measured here, never asserted).

    .venv/bin/python benchmarks/pretrain_step_time.py [--shapes demo paper] [--batch 8] [--steps 3]
    python benchmarks/pretrain_step_time.py --device cuda --shapes paper --batch 32 --steps 10

A step is what the trainer does: forward (momentum update, keys, losses), the encoder's backward
and SGD step, and the method's extra steps (LiftedCL's discriminator). The paper shape is
ResNet-50 at 256 px; on a CPU its per-process batch is cut to --batch to keep the run short. On a
GPU the profile's bf16 autocast and channels_last apply, as in the trainer (the paper: 32 per GPU).
"""

import argparse
import time
from contextlib import nullcontext
from dataclasses import replace

import torch

from suite.data.views import ViewBatch
from suite.pretrain.catalog import METHODS
from suite.pretrain.run import build_method
from suite.pretrain.trainer import SGDStepper
from suite.profiles import PRETRAIN_PROFILES


def fake_batch(n: int, size: int) -> ViewBatch:
    """Two overlapping crops of a 2size×2size image, one flipped."""
    geometry = torch.tensor([[0.0, 0.0, 1.5 * size, 1.5 * size, 0.0, 2 * size, 2 * size]]).repeat(n, 1)
    other = geometry.clone()
    other[:, :2] = 0.5 * size
    other[:, 4] = 1.0
    views = (torch.randn(n, 3, size, size), torch.randn(n, 3, size, size))
    return ViewBatch(views, (geometry, other), torch.arange(n))


def step_time(name: str, profile, batch: int, steps: int, device: torch.device) -> tuple[float, float]:
    """(median seconds per step, peak GPU memory in GiB or 0) after one warm-up step."""
    torch.manual_seed(0)
    method = build_method(name, profile).to(device)
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda and profile.channels_last else torch.contiguous_format
    method.to(memory_format=memory_format)
    method.train()
    steppers = {
        group: SGDStepper(params, spec)
        for group, (params, spec) in method.optimizer_groups(profile.optim).items()
    }
    data = fake_batch(batch, profile.image_size).to(device, memory_format=memory_format)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and profile.bf16 else nullcontext()
    times = []
    for step in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        with autocast:
            output = method(data, step / (steps + 1))
        steppers["encoder"].step(output.loss)
        method.extra_steps(output, steppers)
        if cuda:
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
        assert torch.isfinite(output.loss), f"{name}: loss {output.loss}"
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else 0.0
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    return sorted(times[1:])[len(times[1:]) // 2], peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["demo", "paper"], choices=sorted(PRETRAIN_PROFILES))
    parser.add_argument("--batch", type=int, default=8, help="per-process batch at the paper shape")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    where = torch.cuda.get_device_name(device) if cuda else f"{torch.get_num_threads()} threads"
    print(f"device: {device} ({where})")
    for shape in args.shapes:
        profile = PRETRAIN_PROFILES[shape]
        batch = profile.batch_size if shape == "demo" else args.batch
        profile = replace(profile, method_overrides={"*": {"queue_size": 4096}})
        times = {name: step_time(name, profile, batch, args.steps, device) for name in METHODS.names()}
        base = times["moco-v2"][0]
        precision = "bf16, channels_last" if cuda and profile.bf16 else "fp32"
        print(f"\n{shape}: {profile.arch}, {profile.image_size} px, batch {batch}, queues 4096, {precision}")
        for name, (seconds, peak) in times.items():
            memory = f"   peak {peak:5.1f} GiB" if peak else ""
            print(
                f"  {name:10s} {seconds * 1000:9.1f} ms/step  {batch / seconds:8.0f} images/s  "
                f"{seconds / base:5.2f}x MoCo-v2{memory}"
            )


if __name__ == "__main__":
    main()
