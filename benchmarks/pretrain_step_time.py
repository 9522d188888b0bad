"""Step time of every pre-training method relative to MoCo-v2, at the demo and paper shapes, on this
machine's device (not a test: speed is measured here, never asserted).

    .venv/bin/python benchmarks/pretrain_step_time.py [--shapes demo paper] [--batch 8] [--steps 3]

A step is what the trainer does: forward (momentum update, keys, losses), the encoder's backward
and SGD step, and the method's extra steps (LiftedCL's discriminator). The paper shape is
ResNet-50 at 256 px; on a CPU its per-process batch is cut to --batch to keep the run short.
"""

import argparse
import time
from dataclasses import replace

import torch

from suite.pretrain.method import ViewBatch
from suite.pretrain.run import build_method, registered_methods
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


def step_time(name: str, profile, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    method = build_method(name, profile)
    method.train()
    steppers = {
        group: SGDStepper(params, spec)
        for group, (params, spec) in method.optimizer_groups(profile.optim).items()
    }
    data = fake_batch(batch, profile.image_size)
    times = []
    for step in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        output = method(data, step / (steps + 1))
        steppers["encoder"].step(output.loss)
        method.extra_steps(output, steppers)
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["demo", "paper"], choices=sorted(PRETRAIN_PROFILES))
    parser.add_argument("--batch", type=int, default=8, help="per-process batch at the paper shape on a CPU")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print(f"device: cpu, {torch.get_num_threads()} threads")
    for shape in args.shapes:
        profile = PRETRAIN_PROFILES[shape]
        batch = profile.batch_size if shape == "demo" else args.batch
        profile = replace(profile, method_overrides={"*": {"queue_size": 4096}})
        times = {name: step_time(name, profile, batch, args.steps) for name in sorted(registered_methods())}
        base = times["moco-v2"]
        print(f"\n{shape}: {profile.arch}, {profile.image_size} px, batch {batch}, queues 4096")
        for name, seconds in times.items():
            print(f"  {name:10s} {seconds * 1000:9.1f} ms/step   {seconds / base:5.2f}x MoCo-v2")


if __name__ == "__main__":
    main()
