"""Build and check TensorDicts in rlkit's transition layout (keys in ``rlkit.data.keys``).

``transitions_from_arrays`` is the one place where D4RL-style arrays become a TensorDict: every reader (hdf5,
Minari) and every generator goes through it, so episode indices, ``has_next`` and the checks are the same
everywhere. Arrays are wrapped, not copied, whenever their dtype is already the one stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError

ArrayLike = Any  # np.ndarray | torch.Tensor


def _as_tensor(value: ArrayLike) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(str(array.dtype))
    if not array.flags.writeable:  # read-only memory maps: torch warns on non-writable arrays
        return torch.from_numpy(array.copy())
    return torch.from_numpy(array)


def check_array(
    value: ArrayLike,
    *,
    name: str,
    rows: int | None,
    source: str,
    kind: str = "float",
    ndim: int | tuple[int, ...] | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """Convert ``value`` to a tensor and check it, raising ``DatasetError`` naming ``source`` and ``name``.

    kind: "float" (floating point), "numeric" (float or int), "flag" (bool, or 0/1 numbers, returned as bool),
    or "any" (numeric or bool, e.g. infos).
    """
    try:
        tensor = _as_tensor(value)
    except TypeError as exc:
        message = f"{source}: {name!r} has dtype {exc}, which is not numeric; expected {kind} values"
        raise DatasetError(message) from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if tensor.ndim not in allowed:
            raise DatasetError(
                f"{source}: {name!r} has shape {tuple(tensor.shape)}; expected {' or '.join(map(str, allowed))} "
                f"dimension(s) with {rows if rows is not None else 'N'} rows"
            )
    if rows is not None and (tensor.ndim == 0 or tensor.shape[0] != rows):
        got = tensor.shape[0] if tensor.ndim else "a scalar"
        raise DatasetError(f"{source}: {name!r} has {got} rows; expected {rows} (the length of 'observations')")
    if kind == "flag":
        if tensor.dtype != torch.bool:
            bad = (tensor != 0) & (tensor != 1)
            if bool(bad.any()):
                idx = int(bad.nonzero()[0, 0])
                raise DatasetError(
                    f"{source}: {name!r} holds {tensor.reshape(-1)[idx].item()} at flat index {idx}; "
                    "expected booleans (or 0/1)"
                )
            tensor = tensor != 0
        return tensor
    if kind == "float" and not tensor.is_floating_point():
        raise DatasetError(f"{source}: {name!r} has dtype {tensor.dtype}; expected a floating-point dtype")
    if kind == "numeric" and (tensor.dtype == torch.bool or tensor.is_complex()):
        raise DatasetError(f"{source}: {name!r} has dtype {tensor.dtype}; expected float or integer values")
    # A NaN or inf anywhere makes the float64 sum non-finite: one pass and no mask the size of the data,
    # unless something is wrong, when the mask finds the first bad row.
    if finite and tensor.is_floating_point() and not bool(torch.isfinite(tensor.sum(dtype=torch.float64))):
        bad = ~torch.isfinite(tensor)
        if bool(bad.any()):
            flat = bad.reshape(tensor.shape[0], -1).any(dim=1)
            idx = int(flat.nonzero()[0, 0])
            raise DatasetError(
                f"{source}: {name!r} has {int(bad.sum())} non-finite value(s) (NaN/inf), first at row {idx}; "
                "expected finite numbers"
            )
    return tensor


def episode_boundaries(ends: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Episode index and step-within-episode for rows where ``ends[i]`` marks the last row of an episode."""
    ends = ends.reshape(-1).bool()
    n = ends.numel()
    episode = torch.zeros(n, dtype=torch.int64)
    if n > 1:
        episode[1:] = torch.cumsum(ends[:-1].to(torch.int64), 0)
    starts = torch.ones(n, dtype=torch.bool)
    if n > 1:
        starts[1:] = ends[:-1]
    start_index = torch.arange(n, dtype=torch.int64)
    start_index = torch.where(starts, start_index, torch.zeros_like(start_index))
    start_index = torch.cummax(start_index, 0).values
    step = torch.arange(n, dtype=torch.int64) - start_index
    return episode, step


def _infos_to_tensordict(infos: Mapping[str, Any], rows: int, source: str, prefix: str = "infos") -> TensorDict:
    out = TensorDict({}, batch_size=[rows])
    for name, value in infos.items():
        path = f"{prefix}/{name}"
        if isinstance(value, Mapping):
            out.set(name, _infos_to_tensordict(value, rows, source, path))
            continue
        out.set(name, check_array(value, name=path, rows=rows, source=source, kind="any", finite=False))
    return out


def transitions_from_arrays(
    observations: ArrayLike,
    actions: ArrayLike,
    rewards: ArrayLike,
    terminals: ArrayLike,
    timeouts: ArrayLike,
    next_observations: ArrayLike | None = None,
    infos: Mapping[str, Any] | None = None,
    *,
    source: str = "<arrays>",
    observation_buffer: torch.Tensor | None = None,
) -> TensorDict:
    """A TensorDict in rlkit's layout from D4RL-named arrays, checked.

    Without ``next_observations`` (maze2d/antmaze files), s' is the next row within an episode: episodes end at
    ``terminals | timeouts``, and the last row of an episode that ended by timeout gets ``has_next = False``
    instead of a transition into the next episode. ``("next", "observation")`` is then a view one row ahead of
    ``"observation"`` (no copy): pass ``observation_buffer`` with N + 1 rows whose first N are the observations
    to avoid even the one copy that view needs.
    """
    obs = check_array(observations, name="observations", rows=None, source=source, kind="numeric", ndim=(2, 3, 4))
    n = obs.shape[0]
    if n == 0:
        raise DatasetError(f"{source}: 'observations' is empty; expected at least one row")
    act = check_array(actions, name="actions", rows=n, source=source, kind="numeric", ndim=(1, 2))
    if act.ndim == 1:
        act = act.unsqueeze(-1)
    rew = check_array(rewards, name="rewards", rows=n, source=source, kind="float", ndim=(1, 2))
    if rew.ndim == 2 and rew.shape[1] != 1:
        raise DatasetError(f"{source}: 'rewards' has shape {tuple(rew.shape)}; expected ({n},) or ({n}, 1)")
    term = check_array(terminals, name="terminals", rows=n, source=source, kind="flag", ndim=(1, 2)).reshape(n)
    trunc = check_array(timeouts, name="timeouts", rows=n, source=source, kind="flag", ndim=(1, 2)).reshape(n)

    if next_observations is not None:
        next_obs = check_array(
            next_observations, name="next_observations", rows=n, source=source, kind="numeric", ndim=obs.ndim
        )
        if next_obs.shape != obs.shape:
            raise DatasetError(
                f"{source}: 'next_observations' has shape {tuple(next_obs.shape)}; expected {tuple(obs.shape)} "
                "(the shape of 'observations')"
            )
        has_next = torch.ones(n, dtype=torch.bool)
    else:
        if observation_buffer is not None:
            if observation_buffer.shape[0] != n + 1 or observation_buffer.shape[1:] != obs.shape[1:]:
                raise ValueError("observation_buffer must have one row more than observations")
            buffer = observation_buffer
        else:
            buffer = torch.empty((n + 1, *obs.shape[1:]), dtype=obs.dtype)
            buffer[:n] = obs
        buffer[n] = buffer[n - 1]
        obs, next_obs = buffer[:n], buffer[1:]
        has_next = term | ~trunc
        has_next[n - 1] = bool(term[n - 1])

    ends = term | trunc
    episode, step = episode_boundaries(ends)
    td = TensorDict(
        {
            K.OBS: obs,
            K.ACTION: act,
            K.EPISODE: episode,
            K.STEP: step,
            K.HAS_NEXT: has_next,
            "next": TensorDict(
                {
                    "observation": next_obs,
                    "reward": rew.reshape(n, 1),
                    "terminated": term.reshape(n, 1),
                    "truncated": trunc.reshape(n, 1),
                    "done": ends.reshape(n, 1),
                },
                batch_size=[n],
            ),
        },
        batch_size=[n],
    )
    if infos:
        td.set(K.INFOS, _infos_to_tensordict(infos, n, source))
    return td


def validate_transitions(td: TensorDict, source: str = "<tensordict>") -> None:
    """Check that ``td`` has rlkit's layout; raise ``DatasetError`` naming the key and what was expected."""
    if td.batch_dims != 1:
        raise DatasetError(f"{source}: batch size {tuple(td.batch_size)}; expected one batch dimension [N]")
    n = td.batch_size[0]
    if n == 0:
        raise DatasetError(f"{source}: the TensorDict is empty; expected at least one row")
    present = set(td.keys(include_nested=True, leaves_only=True))
    missing = [key for key in K.TRANSITION_KEYS if key not in present]
    if missing:
        raise DatasetError(f"{source}: missing key(s) {missing}; rlkit's layout needs {list(K.TRANSITION_KEYS)}")
    obs = check_array(td.get(K.OBS), name="observation", rows=n, source=source, kind="numeric")
    next_obs = check_array(td.get(K.NEXT_OBS), name="('next', 'observation')", rows=n, source=source, kind="numeric")
    if next_obs.shape != obs.shape:
        raise DatasetError(
            f"{source}: ('next', 'observation') has shape {tuple(next_obs.shape)}; expected {tuple(obs.shape)}"
        )
    check_array(td.get(K.ACTION), name="action", rows=n, source=source, kind="numeric")
    for key, kind in ((K.REWARD, "float"), (K.TERMINATED, "flag"), (K.TRUNCATED, "flag"), (K.DONE, "flag")):
        value = td.get(key)
        if tuple(value.shape) != (n, 1):
            raise DatasetError(f"{source}: {key} has shape {tuple(value.shape)}; expected ({n}, 1)")
        if kind == "flag" and value.dtype != torch.bool:
            raise DatasetError(f"{source}: {key} has dtype {value.dtype}; expected torch.bool")
        check_array(value, name=str(key), rows=n, source=source, kind=kind)
    for key in (K.EPISODE, K.STEP):
        value = td.get(key)
        if value.dtype != torch.int64 or tuple(value.shape) != (n,):
            raise DatasetError(
                f"{source}: {key!r} has dtype {value.dtype} and shape {tuple(value.shape)}; expected int64 ({n},)"
            )
    has_next = td.get(K.HAS_NEXT)
    if has_next.dtype != torch.bool or tuple(has_next.shape) != (n,):
        raise DatasetError(f"{source}: 'has_next' must be bool of shape ({n},)")


def transitions_only(td: TensorDict) -> TensorDict:
    """The rows that are complete (s, a, r, s') transitions, as d4rl.qlearning_dataset keeps them (a copy)."""
    has_next = td.get(K.HAS_NEXT)
    if bool(has_next.all()):
        return td
    return td[has_next]
