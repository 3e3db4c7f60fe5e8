"""Stage 3 of PTGM: the goal-conditioned low-level policy pi(a | s, g), a Gaussian fitted by NLL on goal windows.

    python examples/ptgm/train_lowlevel.py --small --run-dir runs/ptgm_small

Writes lowlevel.pt (and reads codebook.pt only to check the goal dim). Goals are raw goal-dim values of the state
up to k steps ahead, as the codes the high level will hand it are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODEBOOK_FILE, LOWLEVEL_FILE, artefact, fit_on_windows, load_data, save_net  # noqa: E402
from config import PTGMConfig, parse_args  # noqa: E402

from rlkit.modules.codebook import GoalCodebook  # noqa: E402
from rlkit.modules.goal_prior import GaussianGoalPolicy  # noqa: E402
from rlkit.objectives.ptgm import LowLevelNLLLoss  # noqa: E402
from rlkit.trainers import seed_everything  # noqa: E402


def main(argv: list[str] | None = None, config: PTGMConfig | None = None) -> dict:
    config = config or parse_args(argv, __doc__)
    seed_everything(config.seed)
    data = load_data(config)
    GoalCodebook.load(artefact(config, CODEBOOK_FILE), goal_dim=data.goal_dim)  # same goal space as the codes
    kwargs = dict(obs_dim=data.obs_dim, goal_dim=data.goal_dim, act_dim=data.act_dim, hidden=config.hidden,
                  num_layers=config.num_layers)
    policy = GaussianGoalPolicy(**kwargs)
    metrics = fit_on_windows(policy, LowLevelNLLLoss(policy), data, config, salt=2, desc="low level")
    save_net(policy, kwargs, Path(config.run_dir) / LOWLEVEL_FILE, layout=data.layout,
             goal_dims=list(data.goal_dims))
    print(json.dumps({"stage": "low_level", **metrics}))
    return metrics


if __name__ == "__main__":
    main()
