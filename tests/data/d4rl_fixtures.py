"""Small D4RL-like hdf5 files written with raw h5py (not with rlkit), in both layouts, for tests of any reader.

``mujoco_arrays`` / ``maze_arrays`` make the arrays (nested dicts: ``{"infos": {"qpos": ...}}``), ``write_hdf5``
writes such a tree, optionally gzip-compressed and chunked as many real D4RL files are, and ``read_hdf5`` reads a
whole file back into the same kind of tree for comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np


def _flags(n: int, rows: Sequence[int], dtype: Any) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[list(rows)] = True
    return flags.astype(dtype)


def maze_arrays(
    n: int = 12,
    obs_dim: int = 4,
    act_dim: int = 2,
    *,
    timeouts_at: Sequence[int] = (4,),
    terminals_at: Sequence[int] = (8,),
    flag_dtype: Any = bool,
    seed: int = 0,
) -> dict[str, Any]:
    """A maze2d/antmaze-style tree: no next_observations, infos/{goal,qpos,qvel}."""
    rng = np.random.default_rng(seed)
    return {
        "observations": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "actions": rng.uniform(-1, 1, size=(n, act_dim)).astype(np.float32),
        "rewards": rng.normal(size=n).astype(np.float32),
        "terminals": _flags(n, terminals_at, flag_dtype),
        "timeouts": _flags(n, timeouts_at, flag_dtype),
        "infos": {
            "goal": np.repeat(rng.normal(size=(1, 2)), n, axis=0),  # float64, as in D4RL's maze files
            "qpos": rng.normal(size=(n, 2)),
            "qvel": rng.normal(size=(n, 2)),
        },
    }


def mujoco_arrays(
    n: int = 12,
    obs_dim: int = 3,
    act_dim: int = 2,
    *,
    timeouts_at: Sequence[int] = (4,),
    terminals_at: Sequence[int] = (8,),
    flag_dtype: Any = bool,
    seed: int = 0,
) -> dict[str, Any]:
    """A gym-mujoco-v2-style tree: next_observations (the next row within an episode, fresh at episode ends),
    infos/{action_log_probs,qpos,qvel} and a nested infos group."""
    tree = maze_arrays(n, obs_dim, act_dim, timeouts_at=timeouts_at, terminals_at=terminals_at, seed=seed)
    rng = np.random.default_rng(seed + 1)
    obs = tree["observations"]
    next_obs = np.empty_like(obs)
    next_obs[:-1] = obs[1:]
    ends = np.zeros(n, dtype=bool)
    ends[list(timeouts_at) + list(terminals_at) + [n - 1]] = True
    next_obs[ends] = rng.normal(size=(int(ends.sum()), obs_dim)).astype(np.float32)
    tree["next_observations"] = next_obs
    tree["terminals"] = tree["terminals"].astype(flag_dtype)
    tree["timeouts"] = tree["timeouts"].astype(flag_dtype)
    tree["infos"] = {
        "action_log_probs": rng.normal(size=n).astype(np.float32),
        "qpos": rng.normal(size=(n, obs_dim + 1)),
        "qvel": rng.normal(size=(n, obs_dim)),
        "contact": {"forces": rng.normal(size=(n, 2, 3)).astype(np.float32), "count": np.arange(n, dtype=np.int32)},
    }
    return tree


def d4rl_metadata() -> dict[str, Any]:
    """Metadata shaped like D4RL's: strings (fixed-length bytes and variable-length), a scalar, policy weights."""
    return {
        "algorithm": np.bytes_(b"SAC"),
        "iteration": np.int64(1_000_000),
        "policy": {
            "fc0": {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "bias": np.zeros(2, np.float32)},
            "nonlinearity": "relu",
            "output_distribution": "tanh_gaussian",
        },
    }


def write_hdf5(path: Path, tree: Mapping[str, Any], *, compression: str | None = None) -> Path:
    """Write ``tree`` with raw h5py; with ``compression`` every non-scalar dataset is chunked and compressed."""
    path = Path(path)
    with h5py.File(path, "w") as file:
        _write(file, tree, compression)
    return path


def _write(group: h5py.Group, tree: Mapping[str, Any], compression: str | None) -> None:
    for name, value in tree.items():
        if isinstance(value, Mapping):
            _write(group.create_group(name), value, compression)
            continue
        array = np.asarray(value)
        if compression and array.ndim > 0 and array.dtype.kind in "biuf":
            group.create_dataset(name, data=array, compression=compression, chunks=True)
        else:
            group.create_dataset(name, data=value)


def read_hdf5(path: Path) -> dict[str, Any]:
    """Every dataset of a file as numpy values in a nested dict (strings decoded), for comparing files."""
    with h5py.File(path, "r") as file:
        return _read(file)


def _read(group: h5py.Group) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, entry in group.items():
        if isinstance(entry, h5py.Group):
            out[name] = _read(entry)
        elif h5py.check_string_dtype(entry.dtype) is not None:
            out[name] = entry.asstr()[()]
        else:
            out[name] = entry[()]
    return out
