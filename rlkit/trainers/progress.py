"""A tqdm progress bar that switches itself off where nobody watches it (CI, files, ``nohup``).

Why: tqdm writing carriage-return updates into a CI log turns it into thousands of lines; off a TTY the bar is
silent and the CSV/wandb logs are the record.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from tqdm.auto import tqdm


def _default_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def _format(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


class ProgressBar:
    """``update(n, metrics)`` advances the bar and shows the latest ``metrics`` (Python numbers) as its postfix."""

    def __init__(self, total: int | None, desc: str | None = None, enabled: bool | None = None, initial: int = 0):
        self.enabled = _default_enabled() if enabled is None else enabled
        self._bar = tqdm(total=total, desc=desc, initial=initial, disable=not self.enabled, dynamic_ncols=True)

    def update(self, n: int = 1, metrics: Mapping[str, float | int] | None = None) -> None:
        if not self.enabled:
            return
        if metrics:
            self._bar.set_postfix({key: _format(value) for key, value in metrics.items()}, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    total: int | None, desc: str | None = None, enabled: bool | None = None, initial: int = 0
) -> ProgressBar:
    """Make a ``ProgressBar``; ``enabled=None`` means on only when stderr is a TTY and ``$CI`` is unset.

    ``initial`` starts the count (e.g. at the resumed step).
    """
    return ProgressBar(total, desc=desc, enabled=enabled, initial=initial)
