"""Helpers shared by the dataset generators: seeded random streams, preallocated rollout arrays, chunked progress.

A generator knows its length up front, so it fills numpy arrays allocated once (no per-step lists to concatenate)
and hands them, under D4RL's names, to ``rlkit.data.layout.transitions_from_arrays``. Randomness comes only from
``numpy.random.Generator`` streams spawned from the dataset seed (never the global RNG), so a seed fixes every array.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data.layout import transitions_from_arrays

FieldSpec = tuple[tuple[int, ...], "np.dtype | type"]


def spawn_generators(seed: int, count: int) -> list[np.random.Generator]:
    """``count`` independent generators derived from ``seed`` (adding a stream later leaves the others unchanged)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(count)]


def env_seed(rng: np.random.Generator) -> int:
    """An integer seed for ``env.reset(seed=...)`` drawn from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))


class RolloutArrays:
    """Arrays of ``steps`` rows under D4RL's names (``observations``, ``actions``, ..., ``infos/qpos``).

    ``extra_rows`` adds rows to one field (e.g. the N + 1 observations of a continuing rollout, whose row N is the
    state after the last action); ``transitions`` passes the first ``steps`` rows of each field on.
    """

    def __init__(
        self, steps: int, fields: Mapping[str, FieldSpec], extra_rows: Mapping[str, int] | None = None
    ) -> None:
        if steps <= 0:
            raise ValueError(f"steps must be a positive number of transitions; got {steps}")
        self.steps = int(steps)
        extra_rows = dict(extra_rows or {})
        unknown = set(extra_rows) - set(fields)
        if unknown:
            raise ValueError(f"extra_rows names {sorted(unknown)}, which are not fields {sorted(fields)}")
        self.arrays = {
            name: np.zeros((self.steps + extra_rows.get(name, 0), *shape), dtype=dtype)
            for name, (shape, dtype) in fields.items()
        }

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        value = np.asarray(value)
        if value.shape[:1] != (self.steps,):
            raise ValueError(f"field {name!r} has {value.shape[:1]} rows; expected {self.steps}")
        self.arrays[name] = value

    def transitions(self, source: str) -> TensorDict:
        """The rollout as a TensorDict in rlkit's layout (arrays wrapped, not copied, where dtypes allow)."""
        n = self.steps
        rows = {name: array[:n] for name, array in self.arrays.items()}
        infos = {name.removeprefix("infos/"): array for name, array in rows.items() if name.startswith("infos/")}
        observation_buffer = None
        if "next_observations" not in rows and self.arrays["observations"].shape[0] == n + 1:
            observation_buffer = torch.from_numpy(self.arrays["observations"])
        return transitions_from_arrays(
            rows["observations"],
            rows["actions"],
            rows["rewards"],
            rows["terminals"],
            rows["timeouts"],
            next_observations=rows.get("next_observations"),
            infos=infos or None,
            source=source,
            observation_buffer=observation_buffer,
        )


def progress_chunks(total: int, *, desc: str, progress: bool, chunk: int = 8192) -> Iterator[tuple[int, int]]:
    """Yield ``(start, stop)`` ranges covering ``range(total)``, advancing a tqdm bar after each one.

    Builders run a plain per-step loop inside each range, so the bar costs nothing per step.
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="step", unit_scale=True, dynamic_ncols=True)
    try:
        for start in range(0, total, chunk):
            stop = min(start + chunk, total)
            yield start, stop
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()
