"""Seed every random number generator a training run touches, and gymnasium environments, from one integer.

Why one function: a run that seeds only torch still draws from Python's ``random`` (e.g. in data shuffling) and
numpy's legacy global state (in older wrappers), so it does not repeat. ``seed_everything`` seeds them all and
hands back a fresh ``numpy.random.Generator`` for code that should not share the global state.

Sub-environment seeds come from ``numpy.random.SeedSequence(seed).spawn``-style derivation (``sub_env_seeds``)
rather than gymnasium's ``seed + i``: with ``seed + i``, run seed 0's second env and run seed 1's first env would
see the same episodes.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

_MAX_SEED = 2**32 - 1  # numpy's legacy global state takes seeds in [0, 2**32)


def _check_seed(seed: int, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= int(seed) <= _MAX_SEED:
        raise ValueError(f"{name} must be in [0, 2**32 - 1], got {seed}")
    return int(seed)


def seed_everything(seed: int, deterministic: bool = False) -> np.random.Generator:
    """Seed Python ``random``, numpy's global state and torch (CPU and every CUDA device); return a numpy Generator.

    deterministic: also make torch pick deterministic kernels (``torch.use_deterministic_algorithms``, cuDNN
    deterministic, no cuDNN benchmark, and ``CUBLAS_WORKSPACE_CONFIG`` when unset). Slower on GPU; CPU runs with
    one thread are deterministic without it.
    """
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)


def sub_env_seeds(seed: int, num_envs: int) -> list[int]:
    """Derive ``num_envs`` independent 32-bit seeds from ``seed`` (the same list every time for the same inputs)."""
    seed = _check_seed(seed)
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(num_envs, dtype=np.uint32)]


def seed_env(env: Any, seed: int) -> tuple[Any, dict]:
    """Reset a gymnasium env with ``seed`` and seed its action and observation spaces; return ``(obs, info)``.

    Seeding the spaces matters for ``env.action_space.sample()`` (random warm-up actions), which otherwise draws
    from an unseeded generator.
    """
    seed = _check_seed(seed)
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    env.observation_space.seed(seed)
    return obs, info


def seed_vector_env(envs: Any, seed: int) -> tuple[Any, dict]:
    """Reset a gymnasium vector env so sub-env ``i`` gets ``sub_env_seeds(seed, n)[i]``; seed its spaces too.

    Returns the batched ``(obs, info)`` of the reset. The batched and single action/observation spaces are seeded
    from ``seed``; the sub-envs' own spaces are seeded too where the vector env exposes them (``SyncVectorEnv``).
    """
    seeds = sub_env_seeds(seed, envs.num_envs)
    obs, info = envs.reset(seed=seeds)
    for space in (envs.action_space, envs.single_action_space, envs.observation_space, envs.single_observation_space):
        space.seed(seed)
    for sub_env, sub_seed in zip(getattr(envs, "envs", ()), seeds):
        sub_env.action_space.seed(sub_seed)
        sub_env.observation_space.seed(sub_seed)
    return obs, info
