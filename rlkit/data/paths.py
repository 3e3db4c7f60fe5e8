"""Where rlkit keeps the datasets it builds: ``$RLKIT_DATA_DIR``, else ``~/.cache/rlkit/datasets``."""

from __future__ import annotations

import os
from pathlib import Path


def rlkit_data_dir() -> Path:
    """rlkit's own dataset cache (not created here; writers create it when they write)."""
    env = os.environ.get("RLKIT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/rlkit/datasets").expanduser()


def default_dataset_path(name: str) -> Path:
    """The file a dataset named ``name`` is built into when no ``--out`` is given."""
    return rlkit_data_dir() / f"{name}.hdf5"
