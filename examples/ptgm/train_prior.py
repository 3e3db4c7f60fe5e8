"""Stage 2 of PTGM: the goal prior p(code | s), cross-entropy to the code of the state k steps ahead or less.

    python examples/ptgm/train_prior.py --small --run-dir runs/ptgm_small

Reads codebook.pt, writes prior.pt. Labels: ``--label-metric cosine`` (the original: highest cosine similarity
between the raw goal and the raw codes) or ``codebook`` (the codebook's own nearest code, for xy goals).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODEBOOK_FILE, PRIOR_FILE, artefact, fit_on_windows, load_data, save_net  # noqa: E402
from config import PTGMConfig, parse_args  # noqa: E402

from rlkit.modules.codebook import GoalCodebook  # noqa: E402
from rlkit.modules.goal_prior import GoalPrior  # noqa: E402
from rlkit.objectives.ptgm import GoalPriorLoss  # noqa: E402
from rlkit.trainers import seed_everything  # noqa: E402


def main(argv: list[str] | None = None, config: PTGMConfig | None = None) -> dict:
    config = config or parse_args(argv, __doc__)
    seed_everything(config.seed)
    data = load_data(config)
    book = GoalCodebook.load(artefact(config, CODEBOOK_FILE), goal_dim=data.goal_dim)
    kwargs = dict(obs_dim=data.obs_dim, num_codes=book.num_codes, hidden=config.hidden, num_layers=config.num_layers)
    prior = GoalPrior(**kwargs)
    loss = GoalPriorLoss(prior, book, label_metric=config.label_metric)
    metrics = fit_on_windows(prior, loss, data, config, salt=1, desc="prior")
    save_net(prior, kwargs, Path(config.run_dir) / PRIOR_FILE, layout=data.layout)
    print(json.dumps({"stage": "prior", **metrics}))
    return metrics


if __name__ == "__main__":
    main()
