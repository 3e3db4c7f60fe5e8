"""Import an example folder's scripts as the plain modules they are (they import each other by bare name)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def example_modules(folder: str, names: Sequence[str]) -> Iterator[dict[str, ModuleType]]:
    """``{name: module}`` for ``examples/<folder>/<name>.py``; on exit, ``sys.path`` and ``sys.modules`` are restored,
    so examples whose files share names (every example has a ``config``) never see each other's modules."""
    path = str(EXAMPLES / folder)
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, path)
    try:
        yield {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(path)
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
