"""Prediction over many processes: `torchrun --nproc_per_node N -m salfom_core predict ...`.

Each process (rank) takes a share of the videos, balanced by frame count, and predicts it on
its own device (`cuda:LOCAL_RANK`, or the CPU: `devices.resolve_device` reads LOCAL_RANK). The share is computed from the inputs alone,
the same in every process, so no process group (no NCCL, no rendezvous traffic) is needed
and a rank that dies does not stall the others. Each video is predicted whole by one rank,
with the same engine, batches and cache as a single process, so the maps are the same bytes;
a killed run resumes from the prediction cache, computing only the frames it lacks. Videos of
identical content go to one rank, so no two processes ever write the same cache entry.
Across nodes, torchrun's RANK and WORLD_SIZE are global: every node needs the same inputs
and a shared output folder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Sequence


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def current_rank() -> Rank:
    """torchrun's RANK / WORLD_SIZE / LOCAL_RANK; one process outside torchrun."""
    try:
        world = int(os.environ.get("WORLD_SIZE", 1))
        rank = int(os.environ.get("RANK", 0))
        local = int(os.environ.get("LOCAL_RANK", 0))
    except ValueError:
        raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if not 0 <= rank < max(world, 1):
        raise ValueError(f"RANK {rank} is outside WORLD_SIZE {world}")
    return Rank(rank, max(world, 1), local)


def balanced_shares(weights: Sequence[int], world: int, groups: Sequence[Hashable] | None = None) -> list[list[int]]:
    """Indices of `weights` per rank: largest first to the least loaded rank (ties: lowest
    rank). Items of one group stay together. Deterministic: every rank computes the same."""
    groups = list(range(len(weights))) if groups is None else list(groups)
    members: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    units = sorted(members.values(), key=lambda idx: (-sum(weights[i] for i in idx), idx[0]))
    loads, shares = [0] * world, [[] for _ in range(world)]
    for idx in units:
        target = min(range(world), key=lambda r: (loads[r], r))
        shares[target].extend(idx)
        loads[target] += sum(weights[i] for i in idx)
    return [sorted(s) for s in shares]


def shard_indices(videos: Sequence[Path], rank: Rank, fps: float = 30.0) -> list[int]:
    """Indices of this rank's videos, in the order given (all of them outside torchrun)."""
    if not rank.distributed:
        return list(range(len(videos)))
    from ..io.video import open_video

    frames, keys = [], []
    for path in videos:
        with open_video(path, fps=fps) as source:
            frames.append(len(source))
            keys.append(source.content_key())
    return balanced_shares(frames, rank.world, keys)[rank.rank]


def videos_of_rank(videos: Sequence[Path], rank: Rank, fps: float = 30.0) -> list[Path]:
    """This rank's videos, in the order given."""
    return [videos[i] for i in shard_indices(videos, rank, fps)]
