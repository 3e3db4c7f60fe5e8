"""Stage 1 of PTGM: fit the goal codebook on every 6th state of the dataset (cut to the goal dims).

    python examples/ptgm/generate_codebook.py --small --run-dir runs/ptgm_small

The original embeds the goals with t-SNE, clusters the 2-D embedding and takes the data point nearest each centroid;
here k-means++ runs in the standardised goal space itself and the codes are still real data points
(``GoalCodebook.fit(real_points=True)``), so clustering and assignment happen in one space.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CODEBOOK_FILE, load_data  # noqa: E402
from config import PTGMConfig, parse_args  # noqa: E402

from rlkit.modules.codebook import GoalCodebook  # noqa: E402
from rlkit.trainers import seed_everything  # noqa: E402


def main(argv: list[str] | None = None, config: PTGMConfig | None = None) -> dict:
    config = config or parse_args(argv, __doc__)
    seed_everything(config.seed)
    data = load_data(config)
    goals = data.goal_states(every=config.codebook_stride, num_codes=config.num_codes)
    start = time.perf_counter()
    book = GoalCodebook(data.goal_dim, config.num_codes, metric=config.codebook_metric)
    book.fit(goals, config.num_codes, seed=config.codebook_seed, real_points=True, standardize=True)
    seconds = time.perf_counter() - start
    counts = book.assign(goals).bincount(minlength=config.num_codes)
    Path(config.run_dir).mkdir(parents=True, exist_ok=True)
    book.save(Path(config.run_dir) / CODEBOOK_FILE)
    summary = {"goal_states": goals.shape[0], "goal_dims": list(data.goal_dims), "num_codes": config.num_codes,
               "fit_seconds": round(seconds, 2), "smallest_cluster": int(counts.min()),
               "largest_cluster": int(counts.max())}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
