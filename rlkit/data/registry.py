"""Registry of dataset builders: the hook through which any module adds a buildable dataset name.

A builder turns ``(steps, seed, progress)`` into a TensorDict in rlkit's layout (see ``rlkit.data.keys``) plus a
metadata dict, which ``rlkit.data.build_dataset`` / ``python -m rlkit.data build NAME`` writes as a D4RL hdf5 file.
Later modules register theirs the same way (e.g. "hopper-medium-v2" rolled out from a trained policy)::

    @register_dataset("hopper-medium-v2", default_steps=1_000_000, description="TD3 policy at medium return")
    def build_hopper_medium(steps: int, seed: int, progress: bool = True):
        ...
        return td, {"algorithm": "td3", ...}

Modules that register builders are listed in ``BUILDER_MODULES`` so that name lookups import them lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from tensordict import TensorDict

BuildFn = Callable[..., "tuple[TensorDict, dict]"]

# Modules imported on first lookup; each registers its builders at import time.
BUILDER_MODULES: list[str] = ["rlkit.data.generators", "rlkit.envs.bandit"]


@dataclass(frozen=True)
class DatasetBuilder:
    name: str
    build: BuildFn
    default_steps: int
    description: str


_REGISTRY: dict[str, DatasetBuilder] = {}
_loaded = False


def register_dataset(name: str, *, default_steps: int, description: str) -> Callable[[BuildFn], BuildFn]:
    """Decorator registering ``fn(steps, seed, progress=True) -> (td, metadata)`` under ``name``."""

    def decorator(fn: BuildFn) -> BuildFn:
        if name in _REGISTRY and _REGISTRY[name].build is not fn:
            raise ValueError(f"dataset {name!r} is already registered by {_REGISTRY[name].build!r}")
        _REGISTRY[name] = DatasetBuilder(name, fn, int(default_steps), description)
        return fn

    return decorator


def _load_builder_modules() -> None:
    global _loaded
    if _loaded:
        return
    for module in BUILDER_MODULES:
        importlib.import_module(module)
    _loaded = True  # only once every module imported, so a failed import is raised again, not hidden


def get_builder(name: str) -> DatasetBuilder | None:
    """The builder registered for ``name``, or None."""
    _load_builder_modules()
    return _REGISTRY.get(name)


def registered_names() -> list[str]:
    """Sorted names of every buildable dataset."""
    _load_builder_modules()
    return sorted(_REGISTRY)
