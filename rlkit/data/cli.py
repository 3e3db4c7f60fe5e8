"""``python -m rlkit.data {build,list,info}``: build datasets locally, list what can be built, summarise a file.

User mistakes (an unknown name, a file that exists, a file that is not a dataset) end with a one-paragraph message
on stderr and exit status 1, never a traceback; argparse's own usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tensordict import TensorDict

from rlkit.data import keys as K

EXIT_USER_ERROR = 1


@dataclass(frozen=True)
class DatasetSummary:
    """What ``info`` prints about a dataset (returns over complete episodes when there are any)."""

    name: str | None
    path: str
    transitions: int
    with_next: int
    episodes: int
    complete_episodes: int
    terminals: int
    timeouts: int
    observation_shape: tuple[int, ...]
    action_shape: tuple[int, ...]
    return_mean: float
    return_std: float
    return_min: float
    return_max: float
    length_mean: float
    returns_over: str
    normalized_score_mean: float | None
    metadata: dict[str, Any]


def summarize(td: TensorDict, *, path: str, name: str | None, metadata: dict[str, Any] | None = None) -> DatasetSummary:
    """Episode statistics of a TensorDict in rlkit's layout, computed with array ops (no per-row loop)."""
    n = td.batch_size[0]
    episode = td.get(K.EPISODE)
    done = td.get(K.DONE).reshape(n)
    count = int(episode[-1]) + 1
    returns = torch.zeros(count, dtype=torch.float64).index_add_(0, episode, td.get(K.REWARD).reshape(n).double())
    lengths = torch.bincount(episode, minlength=count)
    complete = torch.zeros(count, dtype=torch.bool)
    complete[episode[done]] = True
    chosen = complete if bool(complete.any()) else torch.ones(count, dtype=torch.bool)
    returns, lengths = returns[chosen], lengths[chosen]
    over = f"{int(chosen.sum()):,} complete episodes" if bool(complete.any()) else "all episodes (none complete)"
    return DatasetSummary(
        name=name,
        path=path,
        transitions=n,
        with_next=int(td.get(K.HAS_NEXT).sum()),
        episodes=count,
        complete_episodes=int(complete.sum()),
        terminals=int(td.get(K.TERMINATED).sum()),
        timeouts=int(td.get(K.TRUNCATED).sum()),
        observation_shape=tuple(td.get(K.OBS).shape[1:]),
        action_shape=tuple(td.get(K.ACTION).shape[1:]),
        return_mean=float(returns.mean()),
        return_std=float(returns.std(correction=0)),
        return_min=float(returns.min()),
        return_max=float(returns.max()),
        length_mean=float(lengths.double().mean()),
        returns_over=over,
        normalized_score_mean=_normalized_mean(name, returns),
        metadata=dict(metadata or {}),
    )


def _normalized_mean(name: str | None, returns: torch.Tensor) -> float | None:
    """Mean D4RL-normalised score, or None when D4RL publishes no reference scores for ``name``."""
    if not name:
        return None
    from rlkit.data.scores import normalized_score

    try:
        return float(normalized_score(name, returns).mean())
    except KeyError:
        return None


def format_summary(summary: DatasetSummary) -> str:
    """Aligned ``key  value`` lines for a terminal."""
    s = summary
    rows = [
        ("dataset", s.name or "(unnamed)"),
        ("path", s.path),
        ("transitions", f"{s.transitions:,} ({s.with_next:,} with a known next observation)"),
        (
            "episodes",
            f"{s.episodes:,} ({s.complete_episodes:,} complete; {s.terminals:,} terminals, {s.timeouts:,} timeouts)",
        ),
        ("observation", str(s.observation_shape)),
        ("action", str(s.action_shape)),
        (
            "return",
            f"mean {s.return_mean:.2f}  std {s.return_std:.2f}  min {s.return_min:.2f}  max {s.return_max:.2f}  "
            f"(over {s.returns_over}, mean length {s.length_mean:.1f})",
        ),
    ]
    if s.normalized_score_mean is not None:
        rows.append(("normalized", f"mean {s.normalized_score_mean:.2f} (D4RL reference scores of {s.name})"))
    else:
        rows.append(("normalized", "n/a (D4RL publishes no reference scores for this name)"))
    for key in ("generator", "seed", "steps", "created", "rlkit_version"):
        if key in s.metadata:
            rows.append((key, _plain(s.metadata[key])))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def _plain(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value)


def _name_for_file(path: Path) -> str | None:
    """The D4RL name of a file saved under D4RL's file name (e.g. hopper_medium-v2.hdf5), if unambiguous."""
    from rlkit.data.d4rl_names import D4RL_FILE_BASENAMES

    names = [name for name, base in D4RL_FILE_BASENAMES.items() if base == path.name]
    if len(names) == 1:
        return names[0]
    stem = path.name.removesuffix(".hdf5")
    return stem if stem in D4RL_FILE_BASENAMES else None


def describe(name_or_file: str) -> DatasetSummary:
    """Load a dataset by name or path and summarise it (the ``info`` command)."""
    from rlkit.data.names import MINARI_PREFIX, load_dataset, resolve_dataset

    path = resolve_dataset(name_or_file)
    metadata: dict[str, Any] = {}
    if name_or_file.startswith(MINARI_PREFIX):
        td = load_dataset(name_or_file)
        name = None
    else:
        from rlkit.data.d4rl_io import load_d4rl, load_d4rl_metadata

        td = load_d4rl(path)
        metadata = load_d4rl_metadata(path)
        named_by_user = not Path(name_or_file).expanduser().is_file()
        name = _plain(metadata["name"]) if "name" in metadata else (name_or_file if named_by_user else None)
        name = name or _name_for_file(path)
    return summarize(td, path=str(path), name=name, metadata=metadata)


# ----------------------------------------------------------------------------------------------------------- commands


def _cmd_build(args: argparse.Namespace) -> int:
    from rlkit.data.build import build_dataset, require_builder
    from rlkit.data.paths import default_dataset_path

    require_builder(args.name)
    target = Path(args.out).expanduser() if args.out else default_dataset_path(args.name)
    if args.skip_existing and target.exists():
        print(f"{target} exists; not rebuilding (--skip-existing)", file=sys.stderr)
    else:
        target = build_dataset(
            args.name, out=args.out, steps=args.steps, seed=args.seed, progress=not args.quiet, overwrite=args.overwrite
        )
    if args.quiet:
        print(target)
    else:
        print(format_summary(describe(str(target))))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from rlkit.data.errors import DatasetNotFoundError
    from rlkit.data.names import resolve_dataset
    from rlkit.data.registry import get_builder, registered_names

    rows = []
    for name in registered_names():
        builder = get_builder(name)
        try:
            where = str(resolve_dataset(name))
        except DatasetNotFoundError:
            where = "-"
        rows.append((name, f"{builder.default_steps:,}", where, builder.description))
    header = ("name", "default steps", "local file", "description")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{widths[i]}}" if i < 3 else cell for i, cell in enumerate(row)).rstrip())
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    print(format_summary(describe(args.dataset)))
    return 0


# ------------------------------------------------------------------------------------------------------------ parsing


def _count(text: str) -> int:
    """A positive integer; accepts 1000000, 1_000_000 and 1e6."""
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not number.is_integer():
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        value = int(number)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rlkit.data",
        description="Build offline-RL datasets locally (D4RL hdf5 files) and inspect dataset files.",
        epilog="Datasets are written to $RLKIT_DATA_DIR (default ~/.cache/rlkit/datasets) unless --out is given.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="generate a dataset and write it as a D4RL hdf5 file",
        description="Generate a registered dataset (see `list`) and write it as a D4RL hdf5 file, then summarise it.",
    )
    build.add_argument("name", help="dataset name, e.g. maze2d-umaze-v1 (see `python -m rlkit.data list`)")
    build.add_argument("--out", metavar="FILE", help="file to write (default: the dataset cache, NAME.hdf5)")
    build.add_argument("--steps", type=_count, metavar="N", help="number of transitions (default: D4RL's size)")
    build.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed; same seed, same data (0)")
    exists = build.add_mutually_exclusive_group()
    exists.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    exists.add_argument("--skip-existing", action="store_true", help="if the file exists, summarise it and stop")
    build.add_argument("--quiet", action="store_true", help="no progress bar or summary; print only the file path")
    build.set_defaults(handler=_cmd_build)

    listing = commands.add_parser(
        "list",
        help="list buildable datasets",
        description="List the datasets rlkit can build, with default sizes and any local file already present.",
    )
    listing.set_defaults(handler=_cmd_list)

    info = commands.add_parser(
        "info",
        help="summarise a dataset file or name",
        description="Summarise a dataset: size, episodes, dimensions, returns and D4RL-normalised score.",
    )
    info.add_argument("dataset", metavar="NAME_OR_FILE", help="a dataset name, a path to an hdf5 file, or minari:<id>")
    info.set_defaults(handler=_cmd_info)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from rlkit.data.build import UnknownDatasetError
    from rlkit.data.errors import DatasetError, DatasetNotFoundError

    return (
        UnknownDatasetError,
        DatasetError,
        DatasetNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 user error, 2 usage error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except _user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
