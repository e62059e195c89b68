"""Run a function on several gloo ranks in fresh processes, as torchrun would (env:// rendezvous)."""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import socket
import traceback


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(fn, rank, world, port, args, results):
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"})
    import torch

    torch.set_num_threads(1)
    try:
        results.put((rank, "ok", fn(rank, world, *args)))
    except BaseException as exc:   # report, do not hang the parent
        results.put((rank, "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-2000:]}"))


def run_ranks(fn, world: int, *args, timeout: float = 60.0) -> list:
    """fn(rank, world, *args) on `world` spawned processes; their return values by rank.

    Raises AssertionError when a rank fails or they do not all finish within `timeout`
    (a rank waiting forever in a collective is a failure, not a hung test run).
    """
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_child, args=(fn, r, world, port, args, results), daemon=True)
             for r in range(world)]
    for p in procs:
        p.start()
    out, errors = {}, []
    try:
        for _ in range(world):
            try:
                rank, status, value = results.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"ranks {sorted(set(range(world)) - set(out))} did not finish "
                                     f"within {timeout} s (stuck in a collective?)") from None
            (out.__setitem__(rank, value) if status == "ok" else errors.append(f"rank {rank}: {value}"))
            if errors:
                break
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
    assert not errors, "\n".join(errors)
    return [out[r] for r in range(world)]
