"""Build a registered dataset into a D4RL hdf5 file: ``build_dataset("maze2d-umaze-v1")``.

The builder (``rlkit.data.registry``) makes the transitions; this adds what a reader needs to trust and reproduce
the file (name, seed, steps, generator, versions, settings) under ``metadata/`` and writes it atomically.
"""

from __future__ import annotations

import datetime as _dt
import operator
import os
import platform
import time
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import Any

from rlkit.data.layout import validate_transitions
from rlkit.data.paths import default_dataset_path
from rlkit.data.registry import DatasetBuilder, get_builder, registered_names

_VERSIONED_PACKAGES = ("gymnasium", "gymnasium-robotics", "mujoco", "numpy", "torch")


class UnknownDatasetError(ValueError):
    """No builder is registered under a name; the message lists the buildable ones."""


def require_builder(name: str) -> DatasetBuilder:
    """The builder for ``name``, or ``UnknownDatasetError`` naming every buildable dataset."""
    builder = get_builder(name)
    if builder is None:
        raise UnknownDatasetError(
            f"no builder for dataset {name!r}; buildable names: {', '.join(registered_names())} "
            "(`python -m rlkit.data list` describes them)"
        )
    return builder


def _package_versions() -> dict[str, str]:
    versions = {}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package.replace("-", "_")] = _importlib_metadata.version(package)
        except _importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _whole_number(value: Any, what: str, minimum: int) -> int:
    """``value`` as an int (numpy integers included), or ``ValueError`` saying what was expected."""
    try:
        number = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}; got {value!r}")
    return number


def _check_target(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a path for the hdf5 file to write")
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} already exists; pass overwrite=True (command line: --overwrite) to replace it, "
            "or --out to write elsewhere"
        )


def build_dataset(
    name: str,
    *,
    out: str | os.PathLike | None = None,
    steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Generate dataset ``name`` and write it as a D4RL hdf5 file; return its path.

    Args:
        name: a registered name (``rlkit.data.registered_names()``).
        out: the file to write; default ``rlkit.data.default_dataset_path(name)`` (``$RLKIT_DATA_DIR``).
        steps: number of transitions; default the builder's (D4RL's size).
        seed: fixes every random draw: the same seed gives identical arrays.
        progress: show a progress bar on stderr.
        overwrite: replace an existing file (otherwise ``FileExistsError``, before any work is done).
    """
    from rlkit import __version__
    from rlkit.data.d4rl_io import save_d4rl

    builder = require_builder(name)
    steps = _whole_number(builder.default_steps if steps is None else steps, "steps", minimum=1)
    seed = _whole_number(seed, "seed", minimum=0)
    path = Path(out).expanduser() if out is not None else default_dataset_path(name)
    _check_target(path, overwrite)

    started = time.perf_counter()
    td, generator_metadata = builder.build(steps, seed, progress=progress)
    seconds = time.perf_counter() - started
    validate_transitions(td, source=f"dataset {name!r} from {builder.build.__module__}")
    if td.batch_size[0] != steps:
        raise RuntimeError(f"builder for {name!r} made {td.batch_size[0]} transitions; {steps} were asked for")

    metadata: dict[str, Any] = {
        "name": name,
        "algorithm": str(generator_metadata.get("algorithm", builder.description)),
        "seed": seed,
        "steps": steps,
        "generator": f"{builder.build.__module__}.{builder.build.__qualname__}",
        "description": builder.description,
        "rlkit_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "generation_seconds": round(seconds, 3),
        "python_version": platform.python_version(),
        "versions": _package_versions(),
        "settings": dict(generator_metadata),
    }
    layout = generator_metadata.get("layout")
    _check_target(path, overwrite)  # the file may have appeared while generating
    return save_d4rl(td, path, metadata=metadata, layout=layout)
