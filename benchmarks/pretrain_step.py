"""Training-step time of every pre-training method at equal shapes, interleaved in one process (not
a test: speed is measured here, never asserted).

    .venv/bin/python benchmarks/pretrain_step.py [--threads 2] [--rounds 5] [--steps 3]
    .venv/bin/python benchmarks/pretrain_step.py --moco-repo ~/src/moco   # + the official MoCo-v2 step
    python benchmarks/pretrain_step.py --device cuda --shapes paper --batch 32   # a GPU, the paper's shapes

Every method is built once (ResNet-18, 64 px, batch 32, queues 4096 unless changed); then each round
runs --steps steps of every method in turn, so that a slow spell of the machine hits them all
alike. Where the device computes in bfloat16 natively (a GPU; a CPU with AVX512-BF16 or AMX) and the
profile asks for it, every method is also timed under its bf16 autocast, as the trainer runs it, beside
its float32 step (--precision picks one). A step is what the trainer does: forward (momentum update,
keys, losses), the encoder's backward and SGD step, and the method's extra steps (LiftedCL's
discriminator). Printed: the median ms/step over all rounds after one warm-up step, its ratio to
moco-v2's in the same precision and, for bf16, to its own fp32 step.

--shapes paper is the paper profile's ResNet-50 at 256 px (the paper: 32 images per GPU); on a GPU
the profile's channels_last applies, as in the trainer, and the peak memory is printed. --shapes demo
(the default) takes --arch and --size.

With --moco-repo PATH (a checkout of facebookresearch/moco) the official moco.builder.MoCo (mlp,
τ 0.2, the same queue and SGD) is timed the same way. Its DDP batch shuffle, all-gather and the
labels' .cuda() are replaced by their one-process CPU equivalents, as printed; under bf16 its forward
runs in the same autocast as ours.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch

from suite.data.views import ViewBatch
from suite.pretrain.catalog import METHODS
from suite.pretrain.run import build_method
from suite.profiles import PRETRAIN_PROFILES
from suite.training.loop import autocast, native_bf16
from suite.training.optim import Stepper

Step = Callable[[float], None]


def fake_batch(n: int, size: int) -> ViewBatch:
    """Two overlapping crops of a 2size×2size image, one flipped."""
    geometry = torch.tensor([[0.0, 0.0, 1.5 * size, 1.5 * size, 0.0, 2 * size, 2 * size]]).repeat(n, 1)
    other = geometry.clone()
    other[:, :2] = 0.5 * size
    other[:, 4] = 1.0
    views = (torch.randn(n, 3, size, size), torch.randn(n, 3, size, size))
    return ViewBatch(views, (geometry, other), torch.arange(n))


def suite_step(name: str, profile, batch: int, device: torch.device, bf16: bool) -> Step:
    """One training step of the method `name`, as the trainer runs it (under bf16 autocast if `bf16`,
    channels_last on a GPU where the profile says so)."""
    torch.manual_seed(0)
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if cuda and profile.channels_last else torch.contiguous_format
    method = build_method(name, profile).to(device, memory_format=memory_format).train()
    steppers = {
        group: Stepper(params, spec)
        for group, (params, spec) in method.optimizer_groups(profile.optim).items()
    }
    data = fake_batch(batch, profile.image_size).to(device, memory_format=memory_format)

    def step(progress: float) -> None:
        with autocast(bf16, device):
            output = method(data, progress)
        steppers["encoder"].step(output.loss)
        method.extra_steps(output, steppers)
        if cuda:
            torch.cuda.synchronize(device)
        assert torch.isfinite(output.loss), f"{name}: loss {output.loss}"

    return step


@contextmanager
def cuda_is_identity():
    """Tensor.cuda() returns the tensor itself (the official code's labels on a CPU-only machine)."""
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda tensor, *args, **kwargs: tensor
    try:
        yield
    finally:
        torch.Tensor.cuda = cuda


def official_moco_step(repo: Path, profile, batch: int, queue: int, bf16: bool) -> Step:
    """One step of facebookresearch/moco's MoCo-v2 (main_moco.py: CrossEntropyLoss, SGD), on the CPU."""
    import torchvision

    sys.path.insert(0, str(repo))
    from moco import builder

    torch.manual_seed(0)
    model = builder.MoCo(getattr(torchvision.models, profile.arch), 128, queue, 0.999, 0.2, mlp=True).train()
    builder.concat_all_gather = lambda tensor: tensor  # one process

    def shuffle(x):
        order = torch.randperm(len(x))
        return x[order], torch.argsort(order)

    model._batch_shuffle_ddp = shuffle
    model._batch_unshuffle_ddp = lambda x, unshuffle: x[unshuffle]
    spec = profile.optim
    optimizer = torch.optim.SGD(
        model.parameters(), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
    )
    im_q, im_k = fake_batch(batch, profile.image_size).views

    def step(progress: float) -> None:
        with cuda_is_identity(), autocast(bf16, torch.device("cpu")):
            logits, labels = model(im_q, im_k)
        logits = logits.float()
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--shapes", default="demo", choices=("demo", "paper"), help="the profile's shapes")
    parser.add_argument("--arch", default="resnet18", help="at --shapes demo")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels, at --shapes demo")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--queue", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps of one method per round")
    parser.add_argument("--moco-repo", type=Path, help="a checkout of facebookresearch/moco (CPU only)")
    parser.add_argument(
        "--precision", default="both", choices=("both", "fp32", "bf16"), help="both: bf16 where native"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    profile = PRETRAIN_PROFILES[args.shapes]
    if args.shapes == "demo":
        profile = replace(profile, arch=args.arch, image_size=args.size)
    profile = replace(profile, batch_size=args.batch, method_overrides={"*": {"queue_size": args.queue}})
    bf16_native = profile.bf16 and native_bf16(device)
    if args.precision == "bf16" and not bf16_native:
        parser.error(f"no native bf16 on {device} (or the {args.shapes} profile does not ask for it)")
    precisions = ["fp32", "bf16"] if args.precision == "both" else [args.precision]
    if not bf16_native:
        precisions = [precision for precision in precisions if precision == "fp32"]
        print(f"bf16: skipped: the {args.shapes} profile does not ask for it or {device} has no native bf16")
    names = sorted(METHODS.names(), key=lambda n: n != "moco-v2")
    steps = {
        f"{name} {precision}": suite_step(name, profile, args.batch, device, precision == "bf16")
        for precision in precisions
        for name in names
    }
    if args.moco_repo is None:
        print("official moco-v2: skipped: pass --moco-repo")
    elif cuda:
        print("official moco-v2: skipped: timed on the CPU only (its DDP calls need one process there)")
    elif not (args.moco_repo / "moco" / "builder.py").is_file():
        print(f"official moco-v2: skipped: no moco/builder.py under {args.moco_repo}")
    else:
        print("official moco-v2: on the CPU, its DDP shuffle, all-gather and .cuda() patched to one process")
        for precision in precisions:
            step = official_moco_step(args.moco_repo, profile, args.batch, args.queue, precision == "bf16")
            steps[f"official {precision}"] = step

    times: dict[str, list[float]] = {name: [] for name in steps}
    total = args.rounds * args.steps
    for step in steps.values():  # one warm-up step each
        step(0.0)
    for round_ in range(args.rounds):
        for name, step in steps.items():
            for i in range(args.steps):
                start = time.perf_counter()
                step((round_ * args.steps + i) / total)
                times[name].append(time.perf_counter() - start)

    where = f"{torch.cuda.get_device_name(device)}" if cuda else f"{args.threads} threads, CPU"
    layout = ", channels_last" if cuda and profile.channels_last else ""
    print(
        f"{profile.arch}, {profile.image_size} px, batch {args.batch}, queues {args.queue}, {where}{layout}, "
        f"{args.rounds} rounds x {args.steps} steps; ratios to moco-v2 in the same precision"
    )
    for name, seconds in times.items():
        median = statistics.median(seconds)
        precision = name.split()[-1]
        base = statistics.median(times[f"moco-v2 {precision}"])
        fp32 = times.get(name.replace("bf16", "fp32"))
        versus = (
            f"  {median / statistics.median(fp32):5.2f}x its fp32" if precision == "bf16" and fp32 else ""
        )
        print(
            f"  {name:15s} {median * 1000:8.1f} ms/step  {args.batch / median:8.0f} images/s  "
            f"{median / base:5.2f}x moco-v2{versus}"
        )
    if cuda:
        print(f"peak memory, all methods: {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
