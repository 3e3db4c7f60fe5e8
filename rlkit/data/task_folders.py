"""BOReL's per-task folders: one folder of ``.npy`` files per task, read into and written from rlkit's layout.

BOReL (``train_single_agent.py``) saves every task's whole replay buffer as a folder named
``seed_{seed}_goal_{g0}_{g1}...`` (each goal coordinate rounded to 3 decimals) holding ``obs.npy``, ``actions.npy``
(one-hot for discrete actions), ``rewards.npy``, ``next_obs.npy`` and ``terminals.npy``, rows in collection order,
whole meta-episodes of ``episode_length * episodes_per_task`` steps one after another. ``terminals.npy`` marks goal
hits, not episode ends (the original's bug 4): here it becomes ``("infos", "goal_reached")`` and episodes end by
time limit (``("next", "truncated")``) every ``episode_length`` rows, so goal hits never cut bootstrapping.

Because the folder name keeps only 3 decimals, ``write_task_folder`` also writes the exact task as ``task.npy``;
the reader prefers it (after checking it agrees with the name) and falls back on the name for original folders.

A task's rows become a TensorDict in rlkit's layout (``rlkit.data.keys``) plus ``"task"`` (N, task_dim) and
``"meta_episode"`` (N,); ``MetaDataset`` holds one per task, and ``to_trajectories`` cuts one into (B, H, ...)
tensors for the belief VAE (keys ``TRAJECTORY_KEYS``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from rlkit.data.layout import check_array, transitions_from_arrays, validate_transitions

TASK = "task"
META_EPISODE = "meta_episode"
GOAL_REACHED = (K.INFOS, "goal_reached")
FILES = ("obs.npy", "actions.npy", "rewards.npy", "next_obs.npy", "terminals.npy")
TASK_FILE = "task.npy"
NAME_DECIMALS = 3  # the original rounds each goal coordinate to 3 decimals in the folder name

# Keys of a trajectory TensorDict (batch size [B]); every entry but "task" is (B, H, ...).
T_OBS, T_ACTION, T_REWARD, T_NEXT_OBS = "obs", "action", "reward", "next_obs"
T_DONE, T_TERMINATED, T_GOAL_REACHED, T_TASK = "done", "terminated", "goal_reached", "task"
TRAJECTORY_KEYS = (T_OBS, T_ACTION, T_REWARD, T_NEXT_OBS, T_DONE, T_TERMINATED, T_GOAL_REACHED, T_TASK)


# ------------------------------------------------------------------------------------------------------------ names
def task_folder_name(task: Any, seed: int | None = None) -> str:
    """The original's folder name for ``task``: ``seed_{seed}_goal_{g0}_{g1}...`` (``goal_...`` without a seed)."""
    values = np.atleast_1d(np.asarray(task, dtype=np.float64))
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError(f"task {task!r}: expected a finite vector")
    goal = "goal_" + "_".join(repr(round(float(v), NAME_DECIMALS) + 0.0) for v in values)  # + 0.0: no "-0.0"
    return goal if seed is None else f"seed_{int(seed)}_{goal}"


def parse_task_folder_name(name: str) -> np.ndarray:
    """The task vector encoded in a folder name ``..._goal_{g0}_{g1}...`` (float64, rounded as the name is)."""
    if "goal_" not in name:
        raise DatasetError(f"task folder {name!r}: no 'goal_' in the name; expected seed_{{seed}}_goal_{{g0}}_...")
    parts = name.split("goal_")[-1].split("_")
    try:
        return np.array([float(part) for part in parts], dtype=np.float64)
    except ValueError:
        raise DatasetError(
            f"task folder {name!r}: cannot read the goal {parts} as numbers; expected goal_{{g0}}_{{g1}}_..."
        ) from None


# ---------------------------------------------------------------------------------------------------------- reading
def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: missing; a task folder needs {', '.join(FILES)}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npy array ({exc})") from None


def _flatten_time_major(array: np.ndarray, path: Path) -> np.ndarray:
    """Files the original saved as (H, n_trajectories, dim) become rows in trajectory order (its reader does this)."""
    if array.ndim == 3:
        return np.ascontiguousarray(array.transpose(1, 0, 2).reshape(-1, array.shape[-1]))
    if array.ndim not in (1, 2):
        raise DatasetError(f"{path}: shape {array.shape}; expected (N, dim) rows or (H, n_trajectories, dim)")
    return array


def _float32(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float32, copy=False) if array.dtype.kind == "f" else array


def _check_name_matches(name: str, task: np.ndarray, where: str) -> None:
    from_name = parse_task_folder_name(name)
    tolerance = 0.5 * 10.0**-NAME_DECIMALS + 1e-6  # float32 tasks round a little differently
    if task.shape != from_name.shape or not np.all(np.abs(task - from_name) <= tolerance):
        raise DatasetError(
            f"{where}: task {task.tolist()} disagrees with the folder name's goal {from_name.tolist()}; "
            "expected the same values up to the name's 3 decimals"
        )


def _read_task(folder: Path) -> np.ndarray:
    task_file = folder / TASK_FILE
    if not task_file.exists():
        return parse_task_folder_name(folder.name)
    task = _load_npy(task_file).astype(np.float64).reshape(-1)
    _check_name_matches(folder.name, task, str(task_file))
    return task


def read_task_folder(
    path: str | os.PathLike, episode_length: int, episodes_per_task: int = 1, *, terminals_are_goal_hits: bool = True
) -> TensorDict:
    """One task folder as a TensorDict in rlkit's layout, with ``"task"`` (N, task_dim) and ``"meta_episode"``.

    Episodes end by time limit every ``episode_length`` rows; rows must be whole meta-episodes of
    ``episode_length * episodes_per_task`` steps. With ``terminals_are_goal_hits`` (BOReL's files),
    ``terminals.npy`` goes to ``("infos", "goal_reached")`` and nothing is terminal; otherwise it is
    ``("next", "terminated")``.
    """
    folder = Path(path).expanduser()
    if episode_length < 1 or episodes_per_task < 1:
        raise ValueError(f"episode_length, episodes_per_task must be >= 1; got {episode_length}, {episodes_per_task}")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder; expected a task folder holding {', '.join(FILES)}")
    task = _read_task(folder)
    arrays = {name: _flatten_time_major(_load_npy(folder / name), folder / name) for name in FILES}
    return transitions_from_task_arrays(
        *(arrays[name] for name in FILES), task, episode_length, episodes_per_task,
        terminals_are_goal_hits=terminals_are_goal_hits, source=str(folder),
    )


def transitions_from_task_arrays(
    obs: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    next_obs: np.ndarray,
    terminals: np.ndarray,
    task: Any,
    episode_length: int,
    episodes_per_task: int = 1,
    *,
    terminals_are_goal_hits: bool = True,
    source: str = "<arrays>",
) -> TensorDict:
    """The arrays of one task folder (as named there) as rlkit's layout; see ``read_task_folder``."""
    task = np.atleast_1d(np.asarray(task, dtype=np.float64))
    n = obs.shape[0]
    horizon = episode_length * episodes_per_task
    if n == 0 or n % horizon:
        raise DatasetError(
            f"{source}: 'obs' has {n} rows; expected a positive multiple of the meta-episode length {horizon} "
            f"({episodes_per_task} episode(s) x {episode_length} steps)"
        )
    if rewards.ndim == 2 and rewards.shape[1] != 1:
        raise DatasetError(f"{source}: 'rewards' has shape {rewards.shape}; expected ({n},) or ({n}, 1)")
    goal_hits = check_array(terminals, name="terminals", rows=n, source=source, kind="flag", ndim=(1, 2))
    timeouts = (np.arange(n) % episode_length) == episode_length - 1
    hits = goal_hits.reshape(n).numpy()
    terminated = np.zeros(n, dtype=bool) if terminals_are_goal_hits else hits
    infos = {"goal_reached": hits.reshape(n, 1)} if terminals_are_goal_hits else None
    td = transitions_from_arrays(
        _float32(obs), _float32(actions), _float32(rewards), terminated, timeouts & ~terminated, _float32(next_obs),
        infos=infos, source=source,
    )
    td.set(TASK, torch.as_tensor(task, dtype=torch.float32).expand(n, task.size).clone())
    td.set(META_EPISODE, torch.arange(n, dtype=torch.int64) // horizon)
    return td


# ---------------------------------------------------------------------------------------------------------- writing
def _terminals_of(td: TensorDict) -> torch.Tensor:
    if GOAL_REACHED in td.keys(include_nested=True):
        return td.get(GOAL_REACHED)
    return td.get(K.TERMINATED)


def _write_arrays(folder: Path, td: TensorDict) -> None:
    n = td.batch_size[0]
    arrays = {
        "obs.npy": td.get(K.OBS),
        "actions.npy": td.get(K.ACTION),
        "rewards.npy": td.get(K.REWARD).reshape(n, 1),
        "next_obs.npy": td.get(K.NEXT_OBS),
        "terminals.npy": _terminals_of(td).reshape(n, 1).to(torch.float32),
        TASK_FILE: td.get(TASK)[0],
    }
    for name, tensor in arrays.items():
        with open(folder / name, "wb") as handle:
            np.save(handle, tensor.detach().cpu().numpy())
            handle.flush()
            os.fsync(handle.fileno())


def _check_writable(td: TensorDict, where: str) -> None:
    validate_transitions(td, where)
    if TASK not in td:
        raise DatasetError(f"{where}: missing key 'task'; a task folder needs the task vector of its rows")
    task = td.get(TASK)
    if task.ndim != 2 or not bool((task == task[:1]).all()):
        raise DatasetError(f"{where}: 'task' has shape {tuple(task.shape)} or differs between rows; expected one task")


def _swap_into_place(temporary: Path, target: Path, overwrite: bool) -> None:
    """Rename the finished ``temporary`` folder to ``target``; an existing ``target`` is replaced only if asked."""
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        backup = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
        os.replace(target, backup / target.name)
        os.replace(temporary, target)
        shutil.rmtree(backup)
    else:
        os.replace(temporary, target)


def write_task_folder(path: str | os.PathLike, td: TensorDict, *, overwrite: bool = False) -> Path:
    """Write one task's rows (rlkit's layout with ``"task"``) as a task folder, atomically: all files or none."""
    target = Path(path).expanduser()
    _check_writable(td, str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        _write_arrays(temporary, td)
        _swap_into_place(temporary, target, overwrite)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target


# --------------------------------------------------------------------------------------------------- trajectories
def to_trajectories(td: TensorDict, horizon: int, source: str = "<tensordict>") -> TensorDict:
    """Cut one task's rows into trajectories of ``horizon`` steps: a TensorDict of batch [B] (``TRAJECTORY_KEYS``).

    ``done`` marks the last step of each inner episode; ``goal_reached`` the goal hits (all False when unknown).
    """
    n = td.batch_size[0]
    if horizon < 1 or n % horizon:
        raise DatasetError(f"{source}: {n} rows do not split into trajectories of {horizon} steps")
    if META_EPISODE in td:
        starts = td.get(META_EPISODE).reshape(-1, horizon)
        if not bool((starts == starts[:, :1]).all()):
            raise DatasetError(f"{source}: 'meta_episode' changes inside a {horizon}-step block; expected whole ones")
    b = n // horizon
    keys = td.keys(include_nested=True)
    goal = td.get(GOAL_REACHED) if GOAL_REACHED in keys else torch.zeros(n, 1, dtype=torch.bool)
    task = td.get(TASK) if TASK in keys else torch.zeros(n, 0)

    def cut(value: torch.Tensor) -> torch.Tensor:
        return value.reshape(b, horizon, *value.shape[1:])

    return TensorDict(
        {
            T_OBS: cut(td.get(K.OBS)),
            T_ACTION: cut(td.get(K.ACTION)),
            T_REWARD: cut(td.get(K.REWARD)),
            T_NEXT_OBS: cut(td.get(K.NEXT_OBS)),
            T_DONE: cut(td.get(K.DONE)),
            T_TERMINATED: cut(td.get(K.TERMINATED)),
            T_GOAL_REACHED: cut(goal.reshape(n, 1)),
            T_TASK: cut(task)[:, 0],
        },
        batch_size=[b],
    )


def from_trajectories(trajectories: TensorDict) -> TensorDict:
    """The inverse of ``to_trajectories``: rows in rlkit's layout with ``"task"`` and ``"meta_episode"``."""
    missing = [key for key in TRAJECTORY_KEYS if key not in trajectories]
    if missing:
        raise DatasetError(f"trajectories: missing key(s) {missing}; expected {list(TRAJECTORY_KEYS)}")
    b, horizon = trajectories.get(T_OBS).shape[:2]
    n = b * horizon

    def rows(key: str) -> torch.Tensor:
        value = trajectories.get(key)
        return value.reshape(n, *value.shape[2:])

    done = rows(T_DONE).reshape(n)
    terminated = rows(T_TERMINATED).reshape(n)
    td = transitions_from_arrays(
        rows(T_OBS), rows(T_ACTION), rows(T_REWARD), terminated, done & ~terminated, rows(T_NEXT_OBS),
        infos={"goal_reached": rows(T_GOAL_REACHED)}, source="trajectories",
    )
    task = trajectories.get(T_TASK)
    td.set(TASK, task.unsqueeze(1).expand(b, horizon, task.shape[-1]).reshape(n, -1).clone())
    td.set(META_EPISODE, torch.arange(n, dtype=torch.int64) // horizon)
    return td


# ------------------------------------------------------------------------------------------------------ container
@dataclass
class MetaDataset:
    """Per-task datasets of one task family: ``data[i]`` holds task ``tasks[i]``'s rows (folder ``names[i]``).

    Checked on construction: every task has whole meta-episodes and the same observation/action/task shapes, so a
    mismatch is reported once, naming the task folder and the key, instead of deep inside a training loop.
    """

    tasks: torch.Tensor
    data: list[TensorDict]
    names: list[str]
    episode_length: int
    episodes_per_task: int
    _trajectory_cache: dict[int, TensorDict] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.tasks = torch.as_tensor(self.tasks, dtype=torch.float32)
        if self.tasks.ndim != 2 or self.tasks.shape[0] != len(self.data) or len(self.names) != len(self.data):
            raise DatasetError(
                f"MetaDataset: {len(self.data)} datasets, {len(self.names)} names and tasks of shape "
                f"{tuple(self.tasks.shape)}; expected one name and one task row per dataset"
            )
        if not self.data:
            raise DatasetError("MetaDataset: no tasks; expected at least one")
        if len(set(self.names)) != len(self.names):
            raise DatasetError(f"MetaDataset: task names {self.names} repeat; expected distinct folder names")
        reference = self.data[0]
        for name, td in zip(self.names, self.data):
            validate_transitions(td, name)
            if td.batch_size[0] % self.horizon:
                raise DatasetError(
                    f"{name}: {td.batch_size[0]} rows; expected whole meta-episodes of {self.horizon} steps"
                )
            for key in (K.OBS, K.ACTION, TASK):
                if key not in td:
                    raise DatasetError(f"{name}: missing key {key!r}")
                got, want = td.get(key).shape[1:], reference.get(key).shape[1:]
                if got != want:
                    raise DatasetError(
                        f"{name}: {key!r} has per-row shape {tuple(got)}; expected {tuple(want)} "
                        f"as in {self.names[0]} (all tasks must agree)"
                    )

    @property
    def horizon(self) -> int:
        """Steps in one meta-episode (``episode_length * episodes_per_task``), the VAE's trajectory length."""
        return self.episode_length * self.episodes_per_task

    @property
    def task_dim(self) -> int:
        return self.tasks.shape[1]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> TensorDict:
        return self.data[index]

    def trajectories(self, index: int) -> TensorDict:
        """Task ``index``'s data as trajectories (batch [B], entries (B, H, ...)); cached."""
        if index not in self._trajectory_cache:
            self._trajectory_cache[index] = to_trajectories(self.data[index], self.horizon, self.names[index])
        return self._trajectory_cache[index]

    def num_trajectories(self) -> list[int]:
        return [td.batch_size[0] // self.horizon for td in self.data]

    def subset(self, indices: Sequence[int]) -> MetaDataset:
        """The tasks at ``indices`` (in that order), sharing their rows with this dataset (e.g. the training tasks of
        one cross-validation fold)."""
        indices = [int(i) for i in indices]
        if not indices or any(not 0 <= i < len(self) for i in indices) or len(set(indices)) != len(indices):
            raise IndexError(f"MetaDataset.subset: indices {indices} must be distinct and in [0, {len(self) - 1}]")
        return MetaDataset(self.tasks[indices], [self.data[i] for i in indices], [self.names[i] for i in indices],
                           self.episode_length, self.episodes_per_task)

    @classmethod
    def from_trajectories(
        cls, trajectories: Sequence[TensorDict], names: Sequence[str], episode_length: int, episodes_per_task: int
    ) -> MetaDataset:
        """A MetaDataset from per-task trajectory TensorDicts (e.g. relabelled ones)."""
        data = [from_trajectories(t) for t in trajectories]
        tasks = torch.stack([t.get(T_TASK)[0] for t in trajectories])
        return cls(tasks, data, list(names), episode_length, episodes_per_task)


def load_task_folders(
    root: str | os.PathLike,
    episode_length: int,
    episodes_per_task: int,
    *,
    terminals_are_goal_hits: bool = True,
) -> MetaDataset:
    """Every task folder (a sub-folder with ``goal_`` in its name) under ``root``, in name order."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; expected a folder of task folders (seed_{{s}}_goal_...)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and "goal_" in p.name and not p.name.startswith("."))
    if not folders:
        raise DatasetError(f"{root}: no task folders; expected sub-folders named seed_{{seed}}_goal_{{g0}}_...")
    data = [read_task_folder(f, episode_length, episodes_per_task, terminals_are_goal_hits=terminals_are_goal_hits)
            for f in folders]
    tasks = torch.stack([td.get(TASK)[0] for td in data])
    return MetaDataset(tasks, data, [f.name for f in folders], episode_length, episodes_per_task)


def save_task_folders(dataset: MetaDataset, root: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Write every task of ``dataset`` under ``root`` (one folder each, named ``dataset.names``), atomically.

    All folders are written into a temporary folder beside ``root`` that is renamed to ``root`` at the end, so a
    failure leaves ``root`` as it was.
    """
    root = Path(root).expanduser()
    root.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.", suffix=".tmp"))
    try:
        for name, td in zip(dataset.names, dataset.data):
            if "goal_" not in name or os.sep in name:
                raise DatasetError(f"task name {name!r}: expected a folder name like seed_{{seed}}_goal_{{g0}}_...")
            _check_name_matches(name, td.get(TASK)[0].double().numpy(), f"task folder {name!r}")
            write_task_folder(temporary / name, td)
        _swap_into_place(temporary, root, overwrite)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return [root / name for name in dataset.names]


def default_task_names(tasks: torch.Tensor | np.ndarray, seeds: Sequence[int] | None = None) -> list[str]:
    """Folder names for ``tasks`` (seed = the task's index unless given); raises if two round to the same name."""
    tasks = np.asarray(tasks, dtype=np.float64).reshape(len(tasks), -1)
    seeds = list(range(len(tasks))) if seeds is None else list(seeds)
    names = [task_folder_name(task, seed) for task, seed in zip(tasks, seeds)]
    if len(set(names)) != len(names):
        raise ValueError("two tasks share a folder name; give distinct seeds")
    return names


__all__ = [
    "MetaDataset", "read_task_folder", "transitions_from_task_arrays", "write_task_folder", "load_task_folders",
    "save_task_folders",
    "to_trajectories", "from_trajectories", "task_folder_name", "parse_task_folder_name", "default_task_names",
    "TRAJECTORY_KEYS", "TASK", "META_EPISODE", "GOAL_REACHED",
]
