"""Read a local Minari dataset into rlkit's transition layout (``rlkit.data.keys``); never downloads.

A Minari episode of T steps stores T + 1 observations and T actions, rewards, terminations and truncations, so
s' is known for every step: row t of the result holds ``(o_t, a_t, r_t, o_{t+1})`` and ``"has_next"`` is True
everywhere. Episodes are read one at a time into preallocated arrays (no per-step Python work) and concatenated in
episode order; ``"episode"`` counts them 0, 1, 2, ... skipping episodes with no steps.

Dict observations (PointMaze, AntMaze, FrankaKitchen) become one flat ``"observation"`` vector: the Box components
named by ``observation_keys`` (default: every key, sorted), each flattened, concatenated in that order; nested
Dicts are flattened the same way, sorted at every level. The default equals gymnasium's ``FlattenObservation`` for
spaces built from a plain dict, e.g. PointMaze gives ``[achieved_goal (2), desired_goal (2), observation (4)]``, so a
policy trained on the data runs on ``FlattenObservation(env)``. Pass ``observation_keys=["observation",
"desired_goal"]`` for the usual goal-conditioned input. Every Box component of o_t is also kept under
``("infos", key, ...)`` (a view into ``"observation"`` when it is part of it), e.g. ``("infos", "desired_goal")``.

Minari's own ``infos`` become ``("infos", ...)`` too: those with T + 1 entries (recorded at reset and after every
step) are cut to the T that go with o_t, those with T are kept as they are.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError, DatasetNotFoundError
from rlkit.data.layout import transitions_from_arrays

Path_ = tuple[str, ...]


def minari_datasets_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding Minari datasets: ``root``, else ``$MINARI_DATASETS_PATH``, else ``~/.minari/datasets``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("MINARI_DATASETS_PATH")
    if env:
        return Path(env).expanduser()
    return Path("~/.minari/datasets").expanduser()


def local_minari_ids(root: str | os.PathLike | None = None) -> list[str]:
    """Ids of the Minari datasets present under the datasets root (namespaced ids included), sorted."""
    base = minari_datasets_root(root)
    if not base.is_dir():
        return []
    return sorted(p.parent.parent.relative_to(base).as_posix() for p in base.glob("**/data/metadata.json"))


def minari_dataset_dir(dataset_id: str, *, root: str | os.PathLike | None = None) -> Path:
    """The ``data`` folder of local Minari dataset ``dataset_id``; ``DatasetNotFoundError`` saying how to place it."""
    base = minari_datasets_root(root)
    data_dir = base / dataset_id / "data"
    if (data_dir / "metadata.json").is_file():
        return data_dir
    if root is not None:
        why = "the root argument"
    elif os.environ.get("MINARI_DATASETS_PATH"):
        why = "$MINARI_DATASETS_PATH"
    else:
        why = "Minari's default, as $MINARI_DATASETS_PATH is not set"
    present = local_minari_ids(root)
    close = difflib.get_close_matches(dataset_id, present, n=5, cutoff=0.5)
    if close:
        seen = f"Close matches there: {', '.join(close)}."
    elif present:
        seen = f"Datasets there: {', '.join(present[:10])}{' ...' if len(present) > 10 else ''}."
    else:
        seen = "No Minari datasets are there."
    raise DatasetNotFoundError(
        f"Minari dataset {dataset_id!r} is not on this machine: looked for {data_dir / 'metadata.json'} "
        f"(datasets root {base}, from {why}). {seen} rlkit never downloads. To place it: on a machine with network "
        f"run `minari download {dataset_id}` (it lands in ~/.minari/datasets/{dataset_id}), copy that folder here "
        f"so that {data_dir} exists, or point $MINARI_DATASETS_PATH (or root=) at the folder that holds {dataset_id}."
    )


def load_minari(
    dataset_id: str,
    *,
    root: str | os.PathLike | None = None,
    observation_keys: Sequence[str] | None = None,
    include_infos: bool = True,
) -> TensorDict:
    """Local Minari dataset ``dataset_id`` as a TensorDict in rlkit's layout (see the module docstring).

    root: the datasets folder (default ``$MINARI_DATASETS_PATH``, else ``~/.minari/datasets``).
    observation_keys: for Dict observations, the top-level keys to concatenate into ``"observation"``, in order.
    include_infos: also read Minari's per-step ``infos`` (numeric ones; others are skipped with a warning).
    Raises ``DatasetNotFoundError`` if the dataset is not local and ``DatasetError`` if it cannot be read.
    """
    data_dir = minari_dataset_dir(dataset_id, root=root)
    source = str(data_dir.parent)
    dataset = _open(data_dir, source)
    observations = _ObservationReader(dataset.observation_space, observation_keys, source)
    actions = _ActionReader(dataset.action_space, source)
    n = int(dataset.total_steps)
    if n <= 0:
        raise DatasetError(f"{source}: the dataset has no steps; expected at least one transition")

    rewards = np.empty(n, np.float32)
    terminals = np.empty(n, bool)
    timeouts = np.empty(n, bool)
    last_rows: list[int] = []
    episode_ids: list[int] = []
    observations.allocate(n)
    actions.allocate(n)
    infos = _InfoReader(n, source) if include_infos else None
    offset = 0
    for episode in dataset.iterate_episodes():
        steps = len(episode.rewards)
        if steps == 0:
            continue
        if offset + steps > n:
            raise DatasetError(f"{source}: episodes hold more steps than the metadata's total_steps ({n})")
        where = f"{source}: episode {episode.id}"
        rows = slice(offset, offset + steps)
        observations.write(episode.observations, rows, steps, where)
        actions.write(episode.actions, rows, steps, where)
        rewards[rows] = _per_step(episode.rewards, steps, f"{where}: 'rewards'")
        terminals[rows] = _per_step(episode.terminations, steps, f"{where}: 'terminations'")
        timeouts[rows] = _per_step(episode.truncations, steps, f"{where}: 'truncations'")
        if infos is not None:
            infos.write(episode.infos, rows, steps, where)
        offset += steps
        last_rows.append(offset - 1)
        episode_ids.append(int(episode.id))
    if offset != n:
        raise DatasetError(f"{source}: episodes hold {offset} steps but the metadata's total_steps is {n}")

    _check_episode_ends(terminals, timeouts, np.asarray(last_rows), episode_ids, source)
    obs, next_obs = observations.tensors()
    info_tree = infos.tree() if infos is not None else {}
    for path, value in observations.component_tensors(obs):
        _insert_unless_taken(info_tree, path, value, source)
    td = transitions_from_arrays(
        obs, actions.tensor(), rewards, terminals, timeouts, next_observations=next_obs, source=source
    )
    if info_tree:  # set here, not through the layout's checks, which reject boolean infos such as "success"
        td.set(K.INFOS, TensorDict(info_tree, batch_size=[n]))
    return td


def _open(data_dir: Path, source: str) -> Any:
    import gymnasium as gym
    import minari

    try:
        return minari.MinariDataset(data_dir)
    except (ValueError, KeyError, AssertionError, OSError, NotImplementedError, gym.error.Error) as exc:
        raise DatasetError(f"{source}: minari {minari.__version__} cannot read it as a dataset: {exc}") from exc


def _per_step(values: Any, steps: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (steps,):
        raise DatasetError(f"{name} has shape {array.shape}; expected ({steps},), one entry per step")
    return array


def _check_episode_ends(
    terminals: np.ndarray, timeouts: np.ndarray, last_rows: np.ndarray, episode_ids: list[int], source: str
) -> None:
    """An episode may end only at its last step; one that ends unflagged (cut by the recorder) is marked truncated."""
    is_last = np.zeros(terminals.shape[0], bool)
    is_last[last_rows] = True
    ends = terminals | timeouts
    early = np.flatnonzero(ends & ~is_last)
    if early.size:
        row = int(early[0])
        k = int(np.searchsorted(last_rows, row))
        step = row - (int(last_rows[k - 1]) + 1 if k else 0)
        raise DatasetError(
            f"{source}: episode {episode_ids[k]} is terminated or truncated at step {step}, before its last step; "
            f"expected the flags only at an episode's end ({early.size} such row(s))"
        )
    unflagged = is_last & ~ends
    if unflagged.any():
        warnings.warn(
            f"{source}: {int(unflagged.sum())} episode(s) end with neither termination nor truncation; "
            "their last step is marked truncated (cut without reaching a terminal state)",
            stacklevel=3,
        )
        timeouts |= unflagged


def _box_leaves(space: Any, prefix: Path_, source: str, strict: bool) -> Iterator[tuple[Path_, Any]]:
    """(path, Box) for every leaf of a (nested) Dict space, keys sorted at every level."""
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        for key in sorted(space.spaces):
            yield from _box_leaves(space.spaces[key], (*prefix, key), source, strict)
    elif isinstance(space, spaces.Box):
        yield prefix, space
    elif strict:
        raise DatasetError(
            f"{source}: observation component {'/'.join(prefix)!r} is a {type(space).__name__} space; only Box "
            "components can be flattened into 'observation' (choose others with observation_keys=[...])"
        )


@dataclass(frozen=True)
class _Component:
    path: Path_
    shape: tuple[int, ...]
    start: int  # columns in the flat observation, or -1 for a component kept only under infos
    stop: int


class _ObservationReader:
    """Box / Discrete observations as they are (float32 for floats); Dict ones flattened into a float32 vector."""

    def __init__(self, space: Any, keys: Sequence[str] | None, source: str) -> None:
        from gymnasium import spaces

        self.parts: list[_Component] = []
        if not isinstance(space, spaces.Dict):
            if keys is not None:
                raise ValueError(f"{source}: observation_keys is only for Dict observations; this one is {space}")
            if isinstance(space, spaces.Box):
                self.shape = tuple(space.shape) or (1,)
                self.dtype = np.float32 if np.issubdtype(space.dtype, np.floating) else space.dtype
            elif isinstance(space, spaces.Discrete):
                self.shape, self.dtype = (1,), np.int64
            else:
                raise DatasetError(f"{source}: observation space {space} is unsupported; expected Box, Discrete, Dict")
            return
        if keys is not None:
            if isinstance(keys, str):
                raise TypeError(f"observation_keys must be a sequence of keys, not the string {keys!r}")
            unknown = [k for k in keys if k not in space.spaces]
            if unknown or len(set(keys)) != len(keys) or not keys:
                raise ValueError(
                    f"{source}: observation_keys {list(keys)} must be distinct keys of the observation Dict, "
                    f"which has {sorted(space.spaces)}"
                )
        chosen = sorted(space.spaces) if keys is None else list(keys)
        column = 0
        for key in chosen:
            for path, box in _box_leaves(space.spaces[key], (key,), source, strict=True):
                width = int(np.prod(box.shape, dtype=np.int64))
                self.parts.append(_Component(path, tuple(box.shape), column, column + width))
                column += width
        for key in sorted(set(space.spaces) - set(chosen)):
            for path, box in _box_leaves(space.spaces[key], (key,), source, strict=False):
                self.parts.append(_Component(path, tuple(box.shape), -1, -1))
        self.shape, self.dtype = (column,), np.float32

    def allocate(self, n: int) -> None:
        self.obs = np.empty((n, *self.shape), self.dtype)
        self.next_obs = np.empty((n, *self.shape), self.dtype)
        self.extra = {c.path: np.empty((n, *c.shape), np.float32) for c in self.parts if c.start < 0}

    def write(self, values: Any, rows: slice, steps: int, where: str) -> None:
        if not self.parts:
            array = np.asarray(values)
            if self.shape == (1,) and array.shape == (steps + 1,):  # Discrete or scalar Box
                array = array.reshape(steps + 1, 1)
            _check_shape(array, (steps + 1, *self.shape), f"{where}: 'observations'")
            self.obs[rows] = array[:-1]
            self.next_obs[rows] = array[1:]
            return
        for c in self.parts:
            name = f"{where}: 'observations/{'/'.join(c.path)}'"
            array = _leaf(values, c.path, name)
            _check_shape(array, (steps + 1, *c.shape), name)
            if c.start < 0:
                self.extra[c.path][rows] = array[:-1]
                continue
            flat = array.reshape(steps + 1, -1)
            self.obs[rows, c.start : c.stop] = flat[:-1]
            self.next_obs[rows, c.start : c.stop] = flat[1:]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(self.obs), torch.from_numpy(self.next_obs)

    def component_tensors(self, obs: torch.Tensor) -> Iterator[tuple[Path_, torch.Tensor]]:
        """Each Dict component of o_t: a view into ``obs`` (the flat observations) or its own array."""
        for c in self.parts:
            if c.start < 0:
                yield c.path, torch.from_numpy(self.extra[c.path])
            else:
                yield c.path, obs[:, c.start : c.stop].reshape(obs.shape[0], *c.shape)


class _ActionReader:
    """Box actions as float32 (T, *shape); Discrete / MultiDiscrete / MultiBinary as int64."""

    def __init__(self, space: Any, source: str) -> None:
        from gymnasium import spaces

        if isinstance(space, spaces.Box):
            self.shape = tuple(space.shape)
            self.dtype = np.float32 if np.issubdtype(space.dtype, np.floating) else space.dtype
        elif isinstance(space, spaces.Discrete):
            self.shape, self.dtype = (), np.int64
        elif isinstance(space, (spaces.MultiDiscrete, spaces.MultiBinary)):
            self.shape, self.dtype = tuple(space.shape), np.int64
        else:
            raise DatasetError(
                f"{source}: action space {space} is not supported; expected Box, Discrete, MultiDiscrete or MultiBinary"
            )

    def allocate(self, n: int) -> None:
        self.actions = np.empty((n, *self.shape), self.dtype)

    def write(self, values: Any, rows: slice, steps: int, where: str) -> None:
        array = np.asarray(values)
        _check_shape(array, (steps, *self.shape), f"{where}: 'actions'", extra="one entry per step")
        self.actions[rows] = array

    def tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.actions)


class _InfoReader:
    """Minari's numeric per-step infos, aligned with o_t; laid out from the first episode, checked on the others."""

    def __init__(self, n: int, source: str) -> None:
        self.n, self.source = n, source
        self.arrays: dict[Path_, np.ndarray] | None = None
        self.skipped: set[Path_] = set()

    def write(self, infos: Mapping[str, Any] | None, rows: slice, steps: int, where: str) -> None:
        leaves = dict(_flatten(infos or {}, ()))
        if self.arrays is None:
            self.arrays = {}
            for path, value in leaves.items():
                if value.dtype.kind not in "biuf" or value.ndim == 0:
                    self.skipped.add(path)
                    continue
                self.arrays[path] = np.empty((self.n, *value.shape[1:]), value.dtype)
            if self.skipped:
                warnings.warn(
                    f"{self.source}: skipping infos that are not numeric per-step arrays: "
                    f"{sorted('/'.join(p) for p in self.skipped)}",
                    stacklevel=4,
                )
        missing = set(self.arrays) - set(leaves)
        if missing:
            raise DatasetError(
                f"{where}: has no infos {sorted('/'.join(p) for p in missing)}, which the first episode has; "
                "pass include_infos=False to read the dataset without infos"
            )
        for path, out in self.arrays.items():
            value = leaves[path]
            name = f"{where}: 'infos/{'/'.join(path)}'"
            if value.ndim >= 1 and value.shape[0] == steps + 1:
                value = value[:steps]
            _check_shape(value, (steps, *out.shape[1:]), name, extra="T or T + 1 entries, as in the first episode")
            out[rows] = value

    def tree(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        for path, array in (self.arrays or {}).items():
            _insert_unless_taken(tree, path, torch.from_numpy(array), self.source)
        return tree


def _flatten(tree: Mapping[str, Any], prefix: Path_) -> Iterator[tuple[Path_, np.ndarray]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, (*prefix, str(key)))
        else:
            yield (*prefix, str(key)), np.asarray(value)


def _insert_unless_taken(tree: dict[str, Any], path: Path_, value: torch.Tensor, source: str) -> None:
    node = tree
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            break
    else:
        if path[-1] not in node:
            node[path[-1]] = value
            return
    warnings.warn(
        f"{source}: the observation component {'/'.join(path)!r} is not copied to ('infos', ...) because the "
        "dataset has an info of that name; it is still part of 'observation'",
        stacklevel=3,
    )


def _check_shape(array: np.ndarray, expected: tuple[int, ...], name: str, extra: str = "") -> None:
    if array.shape != expected:
        why = extra or "one more entry than the episode's steps"
        raise DatasetError(f"{name} has shape {array.shape}; expected {expected} ({why})")


def _leaf(values: Any, path: Path_, name: str) -> np.ndarray:
    node = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise DatasetError(f"{name} is missing; the observation space declares it")
        node = node[key]
    return np.asarray(node)
