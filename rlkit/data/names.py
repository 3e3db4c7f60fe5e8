"""Dataset names -> local files: what ``load_dataset("hopper-medium-v2")`` reads, or a message saying how to get it.

Nothing is downloaded. A name resolves to the first file that exists among

1. ``$D4RL_DATASET_DIR/<D4RL's file name>`` and ``$D4RL_DATASET_DIR/<name>.hdf5`` (D4RL names only);
2. ``~/.d4rl/datasets/<D4RL's file name>`` and ``~/.d4rl/datasets/<name>.hdf5`` (where ``d4rl`` downloads to;
   D4RL names only);
3. ``rlkit_data_dir()/<name>.hdf5`` (where ``python -m rlkit.data build NAME`` writes; any name).

D4RL's file names come from ``rlkit.data.d4rl_names`` (e.g. ``hopper-medium-v2`` -> ``hopper_medium-v2.hdf5``).
A path to an existing file is used as it is, and ``"minari:<id>"`` names a local Minari dataset.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from tensordict import TensorDict

from rlkit.data import registry
from rlkit.data.d4rl_names import D4RL_FILE_BASENAMES
from rlkit.data.errors import DatasetError, DatasetNotFoundError
from rlkit.data.paths import default_dataset_path, rlkit_data_dir

MINARI_PREFIX = "minari:"
_HDF5_SUFFIXES = (".hdf5", ".h5")


def d4rl_dataset_dirs() -> list[Path]:
    """The folders D4RL files are looked for in: ``$D4RL_DATASET_DIR`` (if set), then ``~/.d4rl/datasets``."""
    dirs = []
    env = os.environ.get("D4RL_DATASET_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path("~/.d4rl/datasets").expanduser())
    return list(dict.fromkeys(dirs))


def candidate_paths(name: str) -> list[Path]:
    """Every file ``name`` may be stored as, in search order (see the module docstring)."""
    paths = []
    basename = D4RL_FILE_BASENAMES.get(name)
    if basename is not None:
        for folder in d4rl_dataset_dirs():
            paths += [folder / basename, folder / f"{name}.hdf5"]
    paths.append(default_dataset_path(name))
    return list(dict.fromkeys(paths))


def resolve_dataset(name_or_path: str | os.PathLike) -> Path:
    """The local file for a dataset name or path (``"minari:<id>"``: the Minari dataset's ``data`` folder).

    Raises ``DatasetNotFoundError`` listing every place searched and saying how to build or place the dataset.
    """
    text = os.fspath(name_or_path)
    if isinstance(text, bytes):
        raise TypeError(f"expected a dataset name or path as str or os.PathLike, got bytes {text!r}")
    if text.startswith(MINARI_PREFIX):
        from rlkit.data.minari_io import minari_dataset_dir

        return minari_dataset_dir(_minari_id(text))
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise DatasetError(
            f"{path} is a folder; expected a D4RL hdf5 file (for a local Minari dataset use 'minari:<dataset id>')"
        )
    if not isinstance(name_or_path, str) or _looks_like_path(text):
        hint = f" (for a Minari dataset use 'minari:{text}')" if "/" in text and not path.suffix else ""
        raise DatasetNotFoundError(f"no dataset file at {path}{hint}")
    candidates = candidate_paths(text)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(_not_found_message(text, candidates))


def load_dataset(name_or_path: str | os.PathLike) -> TensorDict:
    """Load a dataset by name or path into rlkit's layout: D4RL hdf5 files and ``"minari:<id>"`` Minari datasets."""
    if isinstance(name_or_path, str) and name_or_path.startswith(MINARI_PREFIX):
        from rlkit.data.minari_io import load_minari

        return load_minari(_minari_id(name_or_path))
    path = resolve_dataset(name_or_path)
    from rlkit.data.d4rl_io import load_d4rl

    return load_d4rl(path)


def _minari_id(text: str) -> str:
    dataset_id = text[len(MINARI_PREFIX) :]
    if not dataset_id:
        raise ValueError(f"{text!r} names no dataset; expected 'minari:<dataset id>', e.g. 'minari:D4RL/door/human-v2'")
    return dataset_id


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.startswith(("~", ".")) or text.lower().endswith(_HDF5_SUFFIXES)


def _how_to_place(basename: str) -> str:
    return (
        f"place D4RL's file {basename} (as `d4rl` downloads it, or copied from another machine's "
        f"~/.d4rl/datasets) at {d4rl_dataset_dirs()[0] / basename}, or set $D4RL_DATASET_DIR to the folder "
        "that holds it, or pass the file's path"
    )


def _not_found_message(name: str, candidates: list[Path]) -> str:
    searched = "\n".join(f"  {path}" for path in candidates)
    basename = D4RL_FILE_BASENAMES.get(name)
    builder = registry.get_builder(name)
    place = "" if basename is None else _how_to_place(basename)
    if builder is not None:
        how = (
            f"Build it with: python -m rlkit.data build {name}\n"
            f"  ({builder.description}; {builder.default_steps:,} steps by default; written to "
            f"{default_dataset_path(name)})"
        )
        if basename is not None:
            how += f"\nor {place}."
        return f"dataset {name!r} is not on this machine. Searched, in order:\n{searched}\n{how}"
    if basename is not None:
        return (
            f"dataset {name!r} is not on this machine, and rlkit has no builder for it. Searched, in order:\n"
            f"{searched}\nTo use it, {place}. Nothing is downloaded."
        )
    known = sorted(set(D4RL_FILE_BASENAMES) | set(registry.registered_names()))
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    suggestion = f"Did you mean: {', '.join(close)}?\n" if close else ""
    return (
        f"unknown dataset {name!r}: it is neither a D4RL dataset name nor one rlkit can build, and no file of that "
        f"name exists. Searched:\n{searched}\n{suggestion}"
        f"D4RL names are listed in rlkit.data.d4rl_names; buildable ones in rlkit.data.registered_names(); "
        f"a file can also be passed by path, and a local Minari dataset as 'minari:<id>'. "
        f"rlkit's own datasets live in {rlkit_data_dir()}."
    )
