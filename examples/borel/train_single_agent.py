"""BOReL's data collection: one agent per task, each task's whole buffer saved as a per-task folder.

    python examples/borel/train_single_agent.py --env-type gridworld --small

The original trained one DQN/SAC agent per task (``--seed`` = task); here ``--num-train-tasks`` tasks are drawn
with ``--data-seed`` and collected in ``--workers`` processes by ``--agent`` (``scripted``: goal-directed with
annealed noise, seconds per task; ``learned``: DQN/SAC as the original). Folders go to ``--data-dir``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_dir, family_of  # noqa: E402
from config import Args, parse_args  # noqa: E402

from rlkit.data.generators.meta_tasks import collect_meta_tasks  # noqa: E402
from rlkit.data.task_folders import MetaDataset  # noqa: E402


def collect(args: Args) -> MetaDataset:
    """Collect (overwriting) the per-task folders of ``args``; with ``--held-out-fold``, every goal (each fold then
    trains on the others)."""
    num_tasks = len(family_of(args).goals) if args.held_out_fold is not None else args.num_train_tasks
    return collect_meta_tasks(args.env_type, num_tasks, out=data_dir(args), agent=args.agent,
                              meta_episodes=args.meta_episodes, seed=args.data_seed, workers=args.workers,
                              progress=args.progress, overwrite=True)


def main(argv: list[str] | None = None) -> MetaDataset:
    args = parse_args(argv, description=__doc__.splitlines()[0])
    dataset = collect(args)
    rows = sum(td.batch_size[0] for td in dataset.data)
    print(f"wrote {len(dataset)} task folders ({rows} transitions) to {data_dir(args)}")
    return dataset


if __name__ == "__main__":
    main()
