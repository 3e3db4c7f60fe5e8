"""Run a dataset generator as independent shards, one process per core, with one progress bar.

A shard is a fixed piece of the dataset (e.g. a set of whole episodes) that depends only on its index and the
dataset seed; results come back in shard order. So the dataset a seed gives does not depend on how many processes
made it: ``workers=1`` runs the shards in this process and returns exactly what a pool returns.

    def make_shard(shard_index: int, seed: int, report) -> dict[str, np.ndarray]:
        rng = shard_rng(seed, shard_index)
        ...                       # generate, calling report(n) after every n env steps
        return arrays

    shards = generate_sharded(make_shard, num_shards=8, seed=0, total_steps=1_000_000, desc="antmaze-umaze")
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

Report = Callable[[int], None]
ShardFn = Callable[[int, int, Report], Any]


def shard_rng(seed: int, shard_index: int) -> np.random.Generator:
    """The random stream of shard ``shard_index`` of the dataset with ``seed`` (independent of the shard count)."""
    if shard_index < 0:
        raise ValueError(f"shard_index must be >= 0; got {shard_index}")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(shard_index),)))


def default_workers(num_shards: int) -> int:
    """One process per available core, at most one per shard."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, num_shards))


class _QueueReport:
    """``report(n)`` for a worker process: puts step counts on a queue the parent reads for its bar."""

    def __init__(self, q: Any) -> None:
        self.q = q

    def __call__(self, n: int) -> None:
        self.q.put(int(n))


def _run_shard(shard_fn: ShardFn, shard_index: int, seed: int, q: Any) -> Any:
    return shard_fn(shard_index, seed, _QueueReport(q))


def generate_sharded(
    shard_fn: ShardFn,
    num_shards: int,
    seed: int,
    *,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "",
    total_steps: int | None = None,
) -> list[Any]:
    """Run ``shard_fn(shard_index, seed, report)`` for every shard; return the results in shard order.

    ``shard_fn`` must be picklable (a module-level function or a ``functools.partial`` of one): worker processes
    are started with "spawn", so they import its module afresh. An exception in any shard is raised here, after
    the other workers are stopped.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1; got {num_shards}")
    workers = default_workers(num_shards) if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, desc=desc or None, unit="step", unit_scale=True, dynamic_ncols=True)
    try:
        if workers == 1:
            report = bar.update if bar is not None else (lambda n: None)
            return [shard_fn(i, seed, report) for i in range(num_shards)]
        return _run_pool(shard_fn, num_shards, seed, workers, bar)
    finally:
        if bar is not None:
            bar.close()


def _run_pool(shard_fn: ShardFn, num_shards: int, seed: int, workers: int, bar: Any) -> list[Any]:
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        q = manager.Queue()
        stop = threading.Event()

        def drain() -> None:  # move worker step counts to the bar while shards run
            while not stop.is_set():
                try:
                    n = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                except (EOFError, OSError):
                    return
                if bar is not None:
                    bar.update(n)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [pool.submit(_run_shard, shard_fn, i, seed, q) for i in range(num_shards)]
                try:
                    return [future.result() for future in futures]
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
        finally:
            stop.set()
            reader.join()
            while bar is not None:  # counts that arrived after the reader stopped
                try:
                    bar.update(q.get_nowait())
                except (queue.Empty, EOFError, OSError):
                    break
