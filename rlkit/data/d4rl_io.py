"""Read and write D4RL's hdf5 layout, so files from ``~/.d4rl`` and files rlkit builds are interchangeable.

Two layouts exist in the wild and both are handled:

* gym-mujoco v2: ``observations``, ``actions``, ``next_observations``, ``rewards``, ``terminals``, ``timeouts``,
  ``infos/*``, ``metadata/*``;
* maze2d / antmaze: the same without ``next_observations``; s' is the next row within an episode (the
  ``has_next`` rules live in ``rlkit.data.layout.transitions_from_arrays``).

Memory matters (a 2M-row file is hundreds of MB), so nothing large is copied twice: contiguous, uncompressed datasets
(what ``save_d4rl`` writes) are memory-mapped copy-on-write, so the tensors are backed by the file's pages and may
still be modified in memory without touching the file; compressed or chunked datasets (many real D4RL files) are
read once, straight into preallocated arrays. The formats are described in ``docs/data_formats.md``.
"""

from __future__ import annotations

import errno
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from rlkit.data.layout import transitions_from_arrays, validate_transitions
from rlkit.utils.atomic import atomic_path

REQUIRED = ("observations", "actions", "rewards", "terminals", "timeouts")
OPTIONAL = ("next_observations", "infos", "metadata")
LAYOUTS = ("mujoco", "maze")
_NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: what can be wrapped as a tensor as-is
_METADATA_TYPES = (bool, int, float, bytes, np.generic, np.ndarray, list, tuple)


# ----------------------------------------------------------------------------------------------------------- reading
def _existing_file(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, f"no D4RL hdf5 file at {path}", str(path))
    return path


@contextmanager
def _open_for_reading(path: Path) -> Iterator[h5py.File]:
    """Open ``path``; HDF5 errors (truncated, corrupt, not HDF5) become a ``DatasetError`` naming the file."""
    try:
        with h5py.File(path, "r") as file:
            yield file
    except (OSError, RuntimeError) as exc:
        raise DatasetError(f"{path}: cannot read it as an HDF5 file ({exc}); it may be truncated or corrupt") from None


def _is_plain_numeric(dtype: np.dtype) -> bool:
    return dtype.kind in _NUMERIC_KINDS and dtype.fields is None and dtype.subdtype is None


def _memory_map(dataset: h5py.Dataset, path: Path) -> np.ndarray | None:
    """A copy-on-write map of ``dataset``'s bytes in ``path``, or None when its storage cannot be mapped."""
    dtype = dataset.dtype
    if dataset.chunks is not None or dataset.compression or dataset.external or not dtype.isnative:
        return None
    offset = dataset.id.get_offset()
    nbytes = dataset.size * dtype.itemsize
    if offset is None or nbytes == 0 or dataset.file.userblock_size or offset + nbytes > path.stat().st_size:
        return None
    try:
        # mode "c": writable for torch (read-only arrays would be copied), but writes never reach the file
        return np.memmap(path, dtype=np.dtype(dtype.str), mode="c", offset=offset, shape=dataset.shape)
    except (OSError, ValueError):
        return None


def _read_array(dataset: h5py.Dataset, path: Path, mmap: bool) -> np.ndarray:
    """The dataset as a numpy array: mapped when possible, else read once into a preallocated array."""
    if not _is_plain_numeric(dataset.dtype):
        return dataset[()]  # strings, compounds: returned as they are so the layout checks can name them
    if mmap:
        mapped = _memory_map(dataset, path)
        if mapped is not None:
            return mapped
    out = np.empty(dataset.shape, dtype=dataset.dtype.newbyteorder("="))
    if out.size:
        dataset.read_direct(out)
    return out


def _dataset(file: h5py.File, name: str, path: Path) -> h5py.Dataset:
    if name not in file:
        raise DatasetError(
            f"{path}: missing dataset {name!r}; a D4RL file needs {list(REQUIRED)} (found {sorted(file.keys())})"
        )
    entry = file[name]
    if not isinstance(entry, h5py.Dataset):
        raise DatasetError(f"{path}: {name!r} is a {type(entry).__name__}; expected an array dataset")
    return entry


def _read_group(group: h5py.Group, path: Path, mmap: bool) -> dict[str, Any]:
    return {
        name: _read_group(entry, path, mmap) if isinstance(entry, h5py.Group) else _read_array(entry, path, mmap)
        for name, entry in group.items()
    }


def _read_observations_with_spare_row(dataset: h5py.Dataset) -> torch.Tensor | None:
    """Observations read into an (N + 1)-row tensor, the buffer s' is a view of; None if they are not numeric."""
    if not _is_plain_numeric(dataset.dtype) or dataset.ndim not in (2, 3, 4) or dataset.shape[0] == 0:
        return None
    dtype = torch.from_numpy(np.empty(0, dtype=dataset.dtype.newbyteorder("="))).dtype
    buffer = torch.empty((dataset.shape[0] + 1, *dataset.shape[1:]), dtype=dtype)
    dataset.read_direct(buffer.numpy()[:-1])
    return buffer


def load_d4rl(path: str | os.PathLike, *, mmap: bool = True) -> TensorDict:
    """Load a D4RL hdf5 file (either layout) as a TensorDict in rlkit's layout (``rlkit.data.keys``).

    ``mmap=True`` maps contiguous, uncompressed datasets copy-on-write instead of reading them; the
    observations of a file without ``next_observations`` are always read (into the buffer s' is a view of).
    Mapped tensors can be modified in memory (never in the file); replacing the file (as ``save_d4rl`` does) is
    safe while they are in use, but truncating or rewriting it in place is not.
    Flags stored as 0/1 numbers become bool. Raises ``FileNotFoundError`` for a missing path and ``DatasetError``
    (naming the file and key) for anything that is not a well-formed D4RL file.
    """
    path = _existing_file(path)
    source = str(path)
    obs_buffer = None
    with _open_for_reading(path) as file:
        arrays = {name: _dataset(file, name, path) for name in REQUIRED}
        extra = sorted(set(file.keys()) - set(REQUIRED) - set(OPTIONAL))
        if extra:
            warnings.warn(f"{path}: ignoring entries {extra}, which are not part of the D4RL layout", stacklevel=2)
        if "next_observations" in file:
            arrays["next_observations"] = _dataset(file, "next_observations", path)
        else:
            obs_buffer = _read_observations_with_spare_row(arrays["observations"])
        for name, dataset in arrays.items():
            if name == "observations" and obs_buffer is not None:
                arrays[name] = obs_buffer[:-1]
            else:
                arrays[name] = _read_array(dataset, path, mmap)
        infos = file.get("infos")
        if infos is not None and not isinstance(infos, h5py.Group):
            raise DatasetError(f"{path}: 'infos' is a dataset; expected a group of per-row arrays")
        arrays["infos"] = _read_group(infos, path, mmap) if infos is not None else None
    return transitions_from_arrays(**arrays, source=source, observation_buffer=obs_buffer)


def _metadata_value(dataset: h5py.Dataset) -> Any:
    if h5py.check_string_dtype(dataset.dtype) is not None:
        value = dataset.asstr()[()]
        return value if isinstance(value, str) else np.asarray(value).astype(str)
    return dataset[()]  # numpy scalar or array, dtype kept so that writing it back is exact


def _read_metadata(group: h5py.Group) -> dict[str, Any]:
    return {
        name: _read_metadata(entry) if isinstance(entry, h5py.Group) else _metadata_value(entry)
        for name, entry in group.items()
    }


def load_d4rl_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The file's ``metadata/*`` as a nested dict (strings decoded, numbers as numpy scalars/arrays); {} if absent."""
    path = _existing_file(path)
    with _open_for_reading(path) as file:
        group = file.get("metadata")
        if group is None:
            return {}
        if not isinstance(group, h5py.Group):
            raise DatasetError(f"{path}: 'metadata' is a dataset; expected a group")
        return _read_metadata(group)


# ----------------------------------------------------------------------------------------------------------- writing
def _first_rows(mask: torch.Tensor, limit: int = 5) -> list[int]:
    return mask.nonzero().reshape(-1)[:limit].tolist()


def _check_episodes(td: TensorDictBase, n: int, where: str) -> None:
    """The file marks episode ends only by terminals | timeouts; refuse a TensorDict whose episodes disagree."""
    ends = td.get(K.TERMINATED).reshape(n) | td.get(K.TRUNCATED).reshape(n)
    done = td.get(K.DONE).reshape(n)
    if not torch.equal(done, ends):
        raise DatasetError(
            f"{where}: ('next', 'done') differs from terminated | truncated at rows {_first_rows(done != ends)}"
        )
    episode = td.get(K.EPISODE)
    mismatch = (episode[1:] != episode[:-1]) != ends[:-1]
    if bool(mismatch.any()):
        raise DatasetError(
            f"{where}: 'episode' changes after rows where neither terminated nor truncated is set, or stays the same "
            f"after rows where one is (first rows {_first_rows(mismatch)}); a D4RL file marks episode ends only by "
            "terminals/timeouts, so these episodes cannot be written (shuffled or concatenated data?)"
        )


def _check_maze_representable(td: TensorDictBase, n: int, where: str) -> None:
    """A file without next_observations implies s' = the next row; refuse data it would lose or invent."""
    has_next = td.get(K.HAS_NEXT)
    term = td.get(K.TERMINATED).reshape(n)
    implied = term | ~td.get(K.TRUNCATED).reshape(n)
    implied[-1] = term[-1]
    lost = has_next & ~implied
    if bool(lost.any()):
        raise DatasetError(
            f"{where}: rows {_first_rows(lost)} have a known s' (has_next True) but end an episode by a time limit or "
            "end the data, where the maze layout stores no s'; the file would lose it: use layout='mujoco'"
        )
    invented = ~has_next & implied
    if bool(invented.any()):
        raise DatasetError(
            f"{where}: rows {_first_rows(invented)} have has_next False but are neither timeouts nor the last row; "
            "the maze layout would give them the next row as s', and the mujoco layout needs s' for every row, so "
            "no D4RL layout can hold them"
        )
    if n > 1:
        implied_by_next_row = (has_next & ~term)[:-1]
        obs, next_obs = td.get(K.OBS), td.get(K.NEXT_OBS)
        differs = (next_obs[:-1] != obs[1:]).reshape(n - 1, -1).any(dim=1) & implied_by_next_row
        if bool(differs.any()):
            raise DatasetError(
                f"{where}: ('next', 'observation') differs from the next row's 'observation' at rows "
                f"{_first_rows(differs)} (within an episode, not terminal); the maze layout stores no "
                "next_observations and would lose them: use layout='mujoco'"
            )


def _check_layout(td: TensorDictBase, layout: str | None, where: str) -> str:
    if layout not in (None, *LAYOUTS):
        raise ValueError(f"layout must be one of {LAYOUTS} or None, not {layout!r}")
    has_next = td.get(K.HAS_NEXT)
    if layout is None:
        layout = "mujoco" if bool(has_next.all()) else "maze"
    n = td.batch_size[0]
    if layout == "mujoco" and not bool(has_next.all()):
        raise DatasetError(
            f"{where}: rows {_first_rows(~has_next)} have has_next False (s' unknown), but the mujoco layout "
            "writes next_observations for every row and would present a placeholder as data: use layout='maze' "
            "(if these rows end episodes by timeout) or drop them"
        )
    if layout == "maze":
        _check_maze_representable(td, n, where)
    return layout


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _infos_arrays(infos: Any, where: str, prefix: str = "infos") -> dict[str, Any]:
    if not isinstance(infos, TensorDictBase):
        raise DatasetError(f"{where}: {prefix!r} is a {type(infos).__name__}; expected a TensorDict of per-row arrays")
    out: dict[str, Any] = {}
    for name, value in infos.items():
        if isinstance(value, TensorDictBase):
            out[name] = _infos_arrays(value, where, f"{prefix}/{name}")
        elif isinstance(value, torch.Tensor):
            out[name] = _to_numpy(value)
        else:
            raise DatasetError(f"{where}: {prefix}/{name} is a {type(value).__name__}; expected a tensor")
    return out


def _metadata_arrays(metadata: Mapping[str, Any], where: str, prefix: str = "metadata") -> dict[str, Any]:
    """Metadata as h5py-writable values, checked before anything is written."""
    out: dict[str, Any] = {}
    for name, value in metadata.items():
        key = f"{prefix}/{name}"
        if not isinstance(name, str) or not name or "/" in name:
            raise DatasetError(f"{where}: metadata key {key!r} must be a non-empty string without '/'")
        if isinstance(value, Mapping):
            out[name] = _metadata_arrays(value, where, key)
            continue
        if isinstance(value, torch.Tensor):
            value = _to_numpy(value)
        if isinstance(value, str):
            out[name] = np.array(value, dtype=h5py.string_dtype())
            continue
        try:
            array = np.asarray(value) if isinstance(value, _METADATA_TYPES) else None
        except ValueError:  # ragged lists
            array = None
        if array is not None and array.dtype.kind in "USO":
            items = np.asarray(value, dtype=object) if isinstance(value, (list, tuple)) else array  # ["a", 1] too
            all_text = all(isinstance(item, (str, bytes)) for item in items.reshape(-1).tolist())
            if not all_text:
                array = None
            elif array.dtype.kind != "S":
                array = array.astype(object).astype(h5py.string_dtype())
        if array is None or not (_is_plain_numeric(array.dtype) or array.dtype.kind in "SO"):
            raise DatasetError(
                f"{where}: metadata value {key!r} is a {type(value).__name__}; expected a string, a number, an array "
                "of numbers or strings, or a dict of these"
            )
        out[name] = array
    return out


def _write_tree(group: h5py.Group, tree: Mapping[str, Any]) -> None:
    for name, value in tree.items():
        if isinstance(value, Mapping):
            _write_tree(group.create_group(name), value)
        else:
            group.create_dataset(name, data=value)  # no chunks, no filters: contiguous, so loading can map it


def save_d4rl(
    td: TensorDictBase,
    path: str | os.PathLike,
    *,
    metadata: Mapping[str, Any] | None = None,
    layout: str | None = None,
) -> Path:
    """Write ``td`` (rlkit's layout) as a D4RL hdf5 file; return the path written.

    layout "mujoco" writes ``next_observations``; "maze" does not (s' is the next row); None picks "maze" when any
    ``has_next`` is False, else "mujoco". Everything is checked before writing, the file is written to a temporary
    name in the same directory and moved into place, so a failure leaves nothing behind and never clobbers an
    existing file. Terminals and timeouts are written as bool whatever the source file used; ``episode`` and
    ``step`` are not stored (they follow from terminals/timeouts on loading).
    """
    path = Path(path).expanduser()
    where = f"TensorDict to save as {path}"
    validate_transitions(td, source=where)
    layout = _check_layout(td, layout, where)
    n = td.batch_size[0]
    _check_episodes(td, n, where)
    known = set(K.TRANSITION_KEYS)
    ignored = [
        key
        for key in td.keys(include_nested=True, leaves_only=True)
        if key not in known and (key if isinstance(key, str) else key[0]) != K.INFOS
    ]
    if ignored:
        warnings.warn(f"{where}: keys {ignored} have no place in the D4RL layout and are not written", stacklevel=2)
    tree: dict[str, Any] = {
        "observations": _to_numpy(td.get(K.OBS)),
        "actions": _to_numpy(td.get(K.ACTION)),
        "rewards": _to_numpy(td.get(K.REWARD).reshape(n)),
        "terminals": _to_numpy(td.get(K.TERMINATED).reshape(n)),
        "timeouts": _to_numpy(td.get(K.TRUNCATED).reshape(n)),
    }
    if layout == "mujoco":
        tree["next_observations"] = _to_numpy(td.get(K.NEXT_OBS))
    infos = td.get(K.INFOS, None)
    if infos is not None:
        tree["infos"] = _infos_arrays(infos, where)
    if metadata:
        tree["metadata"] = _metadata_arrays(metadata, where)

    with atomic_path(path) as temporary, h5py.File(temporary, "w") as file:
        _write_tree(file, tree)
    return path
