"""What a training run shows and keeps: a tqdm bar, TensorBoard scalars and a JSON-lines log (rank 0).

Scalars go to out/tensorboard (one tag per loss term and per group's learning rate) and to
out/log.jsonl, one line per step: {"step", "epoch", <name>: value, ...}. A resumed run first drops
what the previous attempt logged after its last checkpoint (TensorBoard's purge_step and the same
cut in log.jsonl), so each step is logged once. Other ranks log nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from suite.io import atomic_write_bytes

LOG = "log.jsonl"
TENSORBOARD = "tensorboard"


class RunLog:
    """Progress bar and scalar logs of one run; a no-op unless enabled (rank 0)."""

    def __init__(self, out: Path, *, enabled: bool, total: int, start: int, description: str) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.path = out / LOG
        if start > 0:
            _cut(self.path, start)
        elif self.path.exists():
            self.path.unlink()
        self.lines = self.path.open("a")
        # purge_step hides the events of steps >= it: those after the checkpoint at step `start`
        self.writer = SummaryWriter(str(out / TENSORBOARD), purge_step=start + 1 if start > 0 else None)
        self.bar = tqdm(total=total, initial=start, desc=description, dynamic_ncols=True)

    def step(self, step: int, epoch: int, scalars: dict[str, float]) -> None:
        """Log the scalars of step `step` (1-based: the number of steps done)."""
        if not self.enabled:
            return
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, step)
        self.lines.write(json.dumps({"step": step, "epoch": epoch, **scalars}) + "\n")
        self.bar.set_postfix(
            {k: f"{v:.4g}" for k, v in scalars.items() if k.startswith("loss")}, refresh=False
        )
        self.bar.update(1)

    def flush(self) -> None:
        if self.enabled:
            self.lines.flush()
            self.writer.flush()

    def close(self) -> None:
        if self.enabled:
            self.lines.close()
            self.writer.close()
            self.bar.close()


def _cut(path: Path, start: int) -> None:
    """Keep the lines of steps up to `start` (the checkpoint a run resumes from)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines(keepends=True) if _step(line) <= start]
    atomic_write_bytes(path, "".join(kept).encode())


def _step(line: str) -> float:
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return float("inf")  # a line cut short by a kill
