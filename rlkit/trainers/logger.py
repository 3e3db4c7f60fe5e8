"""Log scalar metrics to ``metrics.csv`` (always), ``config.json`` (always) and Weights & Biases (when asked).

CSV format: *wide*, one row per ``log()`` call, column ``step`` first and then one column per metric in the order
the keys first appeared; a metric missing from a row is an empty cell. When a new key appears the file is
rewritten once with the wider header (atomically: temp file + ``os.replace``), so the CSV is valid at every moment
and a plain ``pandas.read_csv`` / ``read_metrics`` reads it. Every row is flushed when logged, so a crashed
process loses nothing it logged (an OS crash may still lose the OS's buffered tail).

Resuming: ``Logger(run_dir, resume=True, resume_step=N)`` keeps the rows with ``step <= N`` (the checkpoint's
step; log step N *before* saving the checkpoint of step N) and appends after them, so the resumed run's CSV
has no duplicated steps. A partial last line left by a crash is dropped.

Weights & Biases: imported lazily, only when ``use_wandb=True``. The mode is, in order: the ``wandb_mode``
argument, ``$WANDB_MODE``, ``"online"`` when an API key is configured (``$WANDB_API_KEY`` or a ``~/.netrc``
entry for the wandb host), and otherwise ``"offline"`` — so a machine without credentials never waits on the
network; offline runs are written under ``run_dir/wandb`` for ``wandb sync``. The wandb run id is kept in
``run_dir/wandb_run_id`` so a resumed logger continues the same wandb run. wandb keeps any steps it already
received after the checkpoint (it ignores repeated steps); the CSV is the exact record.

Host syncs: ``log()`` moves all tensor values to the host in one copy per device (they are stacked first), so a
GPU loop that logs every K steps pays one sync every K steps, not one per metric.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
import math
import netrc
import operator
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch

from rlkit.utils.atomic import atomic_write_text

METRICS_FILE = "metrics.csv"
CONFIG_FILE = "config.json"
WANDB_ID_FILE = "wandb_run_id"
_WANDB_MODES = ("online", "offline", "disabled")



def _jsonable(value: Any, where: str) -> Any:
    """Turn a config value into JSON types, raising a TypeError that names the offending entry."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, where)
    if isinstance(value, (Path, torch.device, torch.dtype)):
        return str(value)
    raise TypeError(f"config entry {where} is a {type(value).__name__}; expected JSON-like values (numbers, strings, "
                    "lists, dicts, dataclasses, paths)")


def _host_values(metrics: Mapping[str, Any]) -> dict[str, float | int]:
    """Convert metric values to Python numbers, moving every tensor to the host in one copy per device."""
    out: dict[str, float | int] = {}
    by_device: dict[torch.device, list[tuple[str, torch.Tensor]]] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or key == "step":
            raise ValueError(f"metric names must be strings other than 'step', got {key!r}")
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise ValueError(f"metric {key!r} is a tensor of shape {tuple(value.shape)}; expected one value")
            by_device.setdefault(value.device, []).append((key, value.detach().reshape(())))
        elif isinstance(value, (bool, np.bool_, int, np.integer)):
            out[key] = int(value)
        elif isinstance(value, (float, np.floating)):
            out[key] = float(value)
        elif isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
            out[key] = int(value) if value.dtype.kind in "biu" else float(value)
        else:
            raise TypeError(f"metric {key!r} is a {type(value).__name__}; expected a number or a one-value tensor")
    for items in by_device.values():
        host = torch.stack([t.to(torch.float64) for _, t in items]).cpu().tolist()  # one sync per device
        for (key, tensor), number in zip(items, host):
            is_int = not (tensor.is_floating_point() or tensor.is_complex())
            out[key] = int(number) if is_int else number
    return {key: out[key] for key in metrics}  # keep the caller's order


def read_metrics(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``metrics.csv`` into ``{column: float64 array}`` (empty cells become NaN)."""
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file; expected a header line starting with 'step'")
        rows = [row for row in reader if row]
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(header):
        cells = [row[index] if index < len(row) else "" for row in rows]
        columns[name] = np.array([float(c) if c != "" else math.nan for c in cells], dtype=np.float64)
    return columns


def resolve_wandb_mode(explicit: str | None = None) -> str:
    """Pick the wandb mode: ``explicit``, else ``$WANDB_MODE``, else online with credentials, else offline."""
    mode = explicit or os.environ.get("WANDB_MODE")
    if mode:
        if explicit and mode not in _WANDB_MODES:
            raise ValueError(f"wandb_mode must be one of {_WANDB_MODES}, got {mode!r}")
        return mode
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        has_key = netrc.netrc().authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        has_key = False
    return "online" if has_key else "offline"


class Logger:
    """Write metrics to ``run_dir/metrics.csv`` (and wandb), and the run's config to ``run_dir/config.json``.

    Example::

        with Logger("runs/hopper_s0", config={"lr": 3e-4}) as logger:
            for step in range(1000):
                logger.log({"loss": loss}, step=step)   # loss may be a 0-d tensor
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        *,
        use_wandb: bool = False,
        wandb_project: str | None = None,
        wandb_mode: str | None = None,
        config: Mapping[str, Any] | Any | None = None,
        resume: bool = False,
        resume_step: int | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.run_dir / METRICS_FILE
        self._columns: list[str] = ["step"]
        self._last_step: int | None = None
        self._wandb_run: Any = None
        self._closed = False
        config_dict = _jsonable(config, "config") if config is not None else None
        if config_dict is not None and not isinstance(config_dict, dict):
            raise TypeError(f"config must be a dict or a dataclass instance, got {type(config).__name__}")

        if self.csv_path.exists() and not resume:
            raise FileExistsError(
                f"{self.csv_path} already exists; pass resume=True to continue that run or choose a new run_dir"
            )
        if resume and self.csv_path.exists():
            self._load_for_resume(resume_step)
        else:
            atomic_write_text(self.csv_path, "step\n")
        self._file = self.csv_path.open("a", newline="")
        self._writer = csv.writer(self._file)

        if config_dict is not None:
            self._write_config(config_dict, resume)
        if use_wandb:
            self._start_wandb(wandb_project, wandb_mode, config_dict, resume)

    # -- CSV ---------------------------------------------------------------------------------------------------
    def _load_for_resume(self, resume_step: int | None) -> None:
        text = self.csv_path.read_text()
        if text and not text.endswith("\n"):  # a crash mid-row: drop the partial line
            text = text[: text.rfind("\n") + 1]
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or not rows[0] or rows[0][0] != "step":
            raise ValueError(f"{self.csv_path}: expected a header starting with 'step', got {rows[:1]}")
        self._columns = rows[0]
        kept = [row for row in rows[1:] if row and (resume_step is None or int(row[0]) <= resume_step)]
        if kept:
            self._last_step = int(kept[-1][0])
        self._rewrite(kept)

    def _rewrite(self, rows: list[list[str]]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self._columns)
        writer.writerows(row + [""] * (len(self._columns) - len(row)) for row in rows)
        atomic_write_text(self.csv_path, buffer.getvalue())

    def _widen(self, new_keys: list[str]) -> None:
        self._file.close()
        with self.csv_path.open(newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        self._columns += new_keys
        self._rewrite(rows)
        self._file = self.csv_path.open("a", newline="")
        self._writer = csv.writer(self._file)

    def log(self, metrics: Mapping[str, Any], step: int) -> dict[str, float | int]:
        """Append one row for ``step``; returns the values as Python numbers (e.g. for a progress bar).

        metrics: a dict (or TensorDict, nested keys joined with ".") of numbers or one-value tensors.
        """
        if self._closed:
            raise RuntimeError(f"logger for {self.run_dir} is closed")
        try:
            step = operator.index(step)
        except TypeError:
            raise TypeError(f"step must be an int, got {type(step).__name__} {step!r}") from None
        if self._last_step is not None and step < self._last_step:
            raise ValueError(
                f"step {step} is before the last logged step {self._last_step}; steps must not decrease "
                "(when resuming, pass resume_step=<checkpoint step>)"
            )
        if callable(getattr(metrics, "flatten_keys", None)):  # a TensorDict (e.g. a LossModule's output)
            metrics = dict(metrics.flatten_keys(".").items())
        values = _host_values(metrics)
        new_keys = [key for key in values if key not in self._columns]
        if new_keys:
            self._widen(new_keys)
        self._writer.writerow([step] + [values.get(column, "") for column in self._columns[1:]])
        self._file.flush()
        self._last_step = step
        if self._wandb_run is not None:
            self._wandb_run.log(values, step=step)
        return values

    # -- config and wandb --------------------------------------------------------------------------------------
    def _write_config(self, config: dict[str, Any], resume: bool) -> None:
        path = self.run_dir / CONFIG_FILE
        if resume and path.exists():
            old = json.loads(path.read_text())
            changed = sorted(set(old) ^ set(config) | {k for k in set(old) & set(config) if old[k] != config[k]})
            if changed:
                warnings.warn(f"{path}: resumed run changes config entries {changed}; writing the new config",
                              stacklevel=3)
        atomic_write_text(path, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def _start_wandb(self, project: str | None, mode: str | None, config: dict | None, resume: bool) -> None:
        import wandb  # lazy: importing wandb costs ~1 s and is needed only here

        id_path = self.run_dir / WANDB_ID_FILE
        run_id = id_path.read_text().strip() if resume and id_path.exists() else None
        mode = resolve_wandb_mode(mode)
        self._wandb_run = wandb.init(
            project=project,
            dir=str(self.run_dir),
            mode=mode,
            config=config,
            id=run_id,
            resume="allow" if run_id else None,
        )
        if mode != "disabled" and not run_id:
            atomic_write_text(id_path, f"{self._wandb_run.id}\n")

    # -- lifetime ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the CSV file and finish the wandb run (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        self._file.close()
        if self._wandb_run is not None:
            self._wandb_run.finish()
            self._wandb_run = None

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
