"""Save and restore everything a training run needs to continue *bit-identically*: states and RNGs.

``Checkpointer(directory).save(step, model=..., optim=..., rng=torch_generator, counters={...})`` writes
``checkpoint_<step>.pt`` atomically (temp file + ``os.replace``: a crash never leaves a half-written checkpoint,
and a failed save leaves no temp file) and keeps the newest ``keep_last``. What it stores per keyword:

* objects with ``state_dict``/``load_state_dict`` (modules, optimisers, LR schedulers, normalisers, TorchRL
  replay buffers and samplers): their state dict, restored in place by ``load``;
* ``torch.Generator``, ``numpy.random.Generator``, ``numpy.random.RandomState``, ``random.Random``: their state,
  restored in place;
* plain values (numbers, strings, tensors, numpy arrays, and lists/tuples/dicts of them): returned by ``load``.

Every checkpoint also holds the global RNG states (Python ``random``, numpy's legacy global, torch CPU and, when
CUDA is available, every CUDA device), which ``load`` restores: dropout masks and ``torch.rand`` calls after a
resume are the ones the uninterrupted run would have drawn.

Files load with ``torch.load(weights_only=True)`` (no arbitrary code runs); numpy arrays are stored as bytes so
this works. Saving step N removes checkpoints with a step after N: they belong to the timeline the run was
rewound from, like the logger's rows after a resume.
"""

from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlkit.utils.atomic import atomic_path

FORMAT = "rlkit-checkpoint-1"
_STATEFUL, _TORCH_GEN, _NUMPY_GEN, _NUMPY_RS, _PY_RANDOM, _VALUE = (
    "state_dict", "torch_generator", "numpy_generator", "numpy_random_state", "python_random", "value"
)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not fit the objects it is loaded into; the message says which."""


# -- numpy <-> torch.load(weights_only=True)-safe values ----------------------------------------------------------
def _encode(value: Any, where: str) -> Any:
    """Make ``value`` loadable with ``weights_only=True``: numpy arrays become tagged bytes; reject other objects."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"{where} is an object array; expected a numeric numpy array")
        return {"__ndarray__": value.tobytes(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_encode(v, f"{where}[{i}]") for i, v in enumerate(value))
    if value is None or isinstance(value, (bool, int, float, str, bytes, torch.Tensor)):
        return value
    raise TypeError(
        f"{where} is a {type(value).__name__}, which is neither stateful (state_dict/load_state_dict, a generator) "
        "nor a plain value (number, string, tensor, array, or list/tuple/dict of them); pass it as its own keyword"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.frombuffer(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_decode(v) for v in value)
    return value


# -- global RNGs ----------------------------------------------------------------------------------------------------
def capture_global_rng() -> dict[str, Any]:
    """The states of Python ``random``, numpy's legacy global, torch CPU and (if available) all CUDA devices."""
    state = {
        "python": random.getstate(),
        "numpy": _encode(np.random.get_state(legacy=False), "numpy global RNG"),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_global_rng(state: dict[str, Any]) -> None:
    """Undo ``capture_global_rng``; warns (rather than fails) when CUDA states cannot be restored on this machine."""
    random.setstate(state["python"])
    np.random.set_state(_decode(state["numpy"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None:
        if torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
            torch.cuda.set_rng_state_all(cuda)
        else:
            warnings.warn(
                f"checkpoint holds RNG states for {len(cuda)} CUDA device(s) but this process sees "
                f"{torch.cuda.device_count() if torch.cuda.is_available() else 0}; CUDA random draws will differ",
                stacklevel=3,
            )


def _kind_of(obj: Any) -> str:
    if isinstance(obj, torch.Generator):
        return _TORCH_GEN
    if isinstance(obj, np.random.Generator):
        return _NUMPY_GEN
    if isinstance(obj, np.random.RandomState):
        return _NUMPY_RS
    if isinstance(obj, random.Random):
        return _PY_RANDOM
    if callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None)):
        return _STATEFUL
    return _VALUE


def _capture(name: str, obj: Any) -> dict[str, Any]:
    kind = _kind_of(obj)
    if kind == _TORCH_GEN:
        state = obj.get_state()
    elif kind == _NUMPY_GEN:
        state = _encode(obj.bit_generator.state, name)
    elif kind == _NUMPY_RS:
        state = _encode(obj.get_state(legacy=False), name)
    elif kind == _PY_RANDOM:
        state = obj.getstate()
    elif kind == _STATEFUL:
        state = obj.state_dict()
    else:
        state = _encode(obj, f"object {name!r}")
    return {"kind": kind, "type": type(obj).__name__, "state": state}


def _restore(name: str, obj: Any, entry: dict[str, Any]) -> None:
    kind, state = _kind_of(obj), entry["state"]
    if kind == _VALUE:
        raise CheckpointError(f"{name!r} is a {type(obj).__name__}; plain values are returned by load(), "
                              "pass only stateful objects as keywords")
    if kind != entry["kind"]:
        raise CheckpointError(f"{name!r} was saved from a {entry['type']} but is being loaded into a "
                              f"{type(obj).__name__}")
    if kind == _TORCH_GEN:
        obj.set_state(state)
    elif kind == _NUMPY_GEN:
        obj.bit_generator.state = _decode(state)
    elif kind == _NUMPY_RS:
        obj.set_state(_decode(state))
    elif kind == _PY_RANDOM:
        obj.setstate(state)
    else:
        obj.load_state_dict(state)


class Checkpointer:
    """Write ``<directory>/checkpoint_<step>.pt`` files, find the newest, and prune all but the last ``keep_last``.

    Example::

        ckpt = Checkpointer("runs/x/checkpoints")
        start = 0
        if ckpt.latest() is not None:
            start = ckpt.load("latest", model=model, optim=optim, data_rng=gen)["step"] + 1
        for step in range(start, total):
            ...
            if step % 1000 == 0:
                ckpt.save(step, model=model, optim=optim, data_rng=gen)
    """

    def __init__(self, directory: str | os.PathLike, keep_last: int | None = 3, prefix: str = "checkpoint") -> None:
        if keep_last is not None and keep_last < 1:
            raise ValueError(f"keep_last must be >= 1 or None (keep all), got {keep_last}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix):
            raise ValueError(f"prefix must be a plain file-name stem, got {prefix!r}")
        self.directory = Path(directory)
        self.keep_last = keep_last
        self.prefix = prefix
        self._pattern = re.compile(rf"{re.escape(prefix)}_(\d+)\.pt")

    def path_for(self, step: int) -> Path:
        return self.directory / f"{self.prefix}_{step:09d}.pt"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """``(step, path)`` of every checkpoint in the directory, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = self._pattern.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def latest(self) -> Path | None:
        """The checkpoint with the highest step, or None when there is none."""
        found = self.checkpoints()
        return found[-1][1] if found else None

    def save(self, step: int, **objects: Any) -> Path:
        """Write a checkpoint for ``step`` holding ``objects`` and the global RNG states; return its path."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step must be a non-negative int, got {step!r}")
        step = int(step)
        payload = {
            "format": FORMAT,
            "step": step,
            "entries": {name: _capture(name, obj) for name, obj in objects.items()},
            "rng": capture_global_rng(),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(step)
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        self._prune(step)
        return path

    def _prune(self, saved_step: int) -> None:
        found = self.checkpoints()
        stale = [path for step, path in found if step > saved_step]
        kept = [path for step, path in found if step <= saved_step]
        if self.keep_last is not None:
            stale += kept[: -self.keep_last]
        for path in stale:
            path.unlink(missing_ok=True)

    def _resolve(self, path_or_latest: str | os.PathLike) -> Path:
        if str(path_or_latest) == "latest":
            path = self.latest()
            if path is None:
                raise CheckpointError(f"no checkpoint '{self.prefix}_<step>.pt' in {self.directory}")
            return path
        path = Path(path_or_latest)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path} does not exist")
        return path

    def load(
        self,
        path_or_latest: str | os.PathLike = "latest",
        *,
        map_location: str | torch.device | None = "cpu",
        restore_rng: bool = True,
        weights_only: bool = True,
        **objects: Any,
    ) -> dict[str, Any]:
        """Restore ``objects`` in place (and the global RNGs); return ``{"step": step, **plain values}``.

        map_location: where tensors land first ("cpu" by default, so a CUDA checkpoint loads on a CPU-only machine;
        modules and optimisers then copy states onto their own devices). weights_only: keep True unless the file
        holds objects that need arbitrary unpickling and you trust it.
        """
        path = self._resolve(path_or_latest)
        try:
            payload = torch.load(path, map_location=map_location, weights_only=weights_only)
        except Exception as exc:
            raise CheckpointError(f"could not read checkpoint {path}: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise CheckpointError(f"{path} is not an rlkit checkpoint (expected format {FORMAT!r})")
        entries = payload["entries"]
        missing = [name for name in objects if name not in entries]
        if missing:
            raise CheckpointError(f"checkpoint {path} has no entry {missing} (it holds {sorted(entries)})")
        for name, obj in objects.items():
            try:
                _restore(name, obj, entries[name])
            except CheckpointError as exc:
                raise CheckpointError(f"checkpoint {path}: {exc}") from None
            except Exception as exc:
                raise CheckpointError(
                    f"checkpoint {path}: could not restore {name!r} ({type(obj).__name__}): {exc}"
                ) from exc
        if restore_rng:
            restore_global_rng(payload["rng"])
        values = {name: _decode(entry["state"]) for name, entry in entries.items() if entry["kind"] == _VALUE}
        return {"step": payload["step"], **values}
