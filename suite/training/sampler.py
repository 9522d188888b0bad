"""The order of the samples: each epoch a permutation drawn from (seed, epoch), dealt over processes.

A run that stops part-way through an epoch resumes at the same position of the same permutation, so
it sees exactly the samples the uninterrupted run would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class EpochSampler(Sampler[int]):
    """This process's share of a permutation of range(length) drawn from (seed, epoch).

    Rank r takes positions r, r + world_size, ... of the permutation, as DistributedSampler does.
    drop_last=True cuts the permutation to a multiple of world_size (every process the same count);
    False pads it by wrapping around. set_epoch(epoch, start=k) skips this process's first k
    indices, to resume an epoch after k samples without replaying them.
    """

    def __init__(
        self, length: int, world_size: int = 1, rank: int = 0, seed: int = 0, drop_last: bool = True
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        if length < world_size:
            raise ValueError(f"{length} samples cannot be shared by {world_size} processes")
        self.length, self.world_size, self.rank, self.seed = length, world_size, rank, seed
        self.drop_last = drop_last
        self.per_rank = length // world_size if drop_last else math.ceil(length / world_size)
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        if not 0 <= start <= self.per_rank:
            raise ValueError(f"start {start} is not in [0, {self.per_rank}]")
        self.epoch, self.start = epoch, start

    def indices(self) -> list[int]:
        """This process's whole share for the current epoch, before skipping `start`."""
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.length).tolist()
        total = self.per_rank * self.world_size
        order = (order * math.ceil(total / self.length))[:total]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices()[self.start :])

    def __len__(self) -> int:
        return self.per_rank - self.start
