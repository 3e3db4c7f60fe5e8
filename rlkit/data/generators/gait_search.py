"""Tune the ant's trotting gait (``rlkit.agents.ant_gait``) with a cross-entropy search, cached on disk.

Score of a parameter set: the speed (m/s) at which the ant makes progress toward random waypoints 4 m away on an open
floor, under Gaussian action noise, minus a penalty if it ends on its back (the rollout stops there). Every candidate
of an iteration walks the same waypoints and noise (common random numbers), so the ranking reflects the parameters.

A search with the default settings takes a few CPU minutes; its result is stored under
``rlkit_data_dir()/gait_search/<key>.json`` (key = hash of the settings), and ``TUNED_GAIT`` ships the parameters it
found, so datasets never need to search. ``python -m rlkit.data.generators.gait_search`` reruns it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rlkit.agents.ant_gait import PARAM_BOUNDS, GaitParams, TrotGait
from rlkit.data.paths import rlkit_data_dir
from rlkit.envs.ant_state import actuator_joint_indices, ant_mujoco_env, is_flipped

SEARCH_VERSION = 1  # bump when the scoring changes, so cached results are not reused

# Where the search starts: the set reported in the findings (docs/datasets.md, "antmaze").
START_GAIT = GaitParams(
    frequency=2.226, hip_amplitude=0.479, ankle_mid=0.604, ankle_amplitude=0.226, kp=4.08, kd=0.229,
    phase_offset=-1.126,
)

# Found by ``search_gait(GaitSearchSettings())`` (``python -m rlkit.data.generators.gait_search``): 12 iterations of
# 18 candidates x 3 rollouts of 500 steps under N(0, 0.15) noise, 108 s on a shared core; on 8 fresh
# rollouts it scores 1.04 m/s against -1.02 for the start (which flipped in some of them).
TUNED_GAIT = GaitParams(
    frequency=2.2556534408817717, hip_amplitude=0.4751278038739647, ankle_mid=0.574309557656271,
    ankle_amplitude=0.216295245069323, kp=2.9657407635559916, kd=0.20213813197265598,
    phase_offset=-0.9044915839001267,
)
TUNED_GAIT_SEARCH = {
    "settings_key": "b2e3717355885786", "score": 1.0382, "init_score": -1.0232, "seconds": 108.3
}

OPEN_FLOOR_CELLS = 7  # free cells per side of the search's open floor (4 m each)


@dataclass(frozen=True)
class GaitSearchSettings:
    """Everything that determines a search's result (and its cache key)."""

    iterations: int = 12
    population: int = 18
    elites: int = 4
    episodes: int = 3  # rollouts per candidate per iteration
    eval_episodes: int = 8  # rollouts scoring the start and the result on the same fresh seeds
    episode_steps: int = 500
    action_noise_std: float = 0.15  # above the datasets' 0.05-0.1, so the gait keeps a margin against flips
    waypoint_distance: float = 4.0
    waypoint_radius: float = 1.0
    flip_penalty: float = 5.0  # m/s subtracted from the score of a rollout that flips (dominates any speed gain)
    init_std: float = 0.15  # initial standard deviation, as a fraction of each parameter's range
    seed: int = 0
    init: tuple[float, ...] = field(default_factory=lambda: tuple(START_GAIT.to_array().tolist()))

    def key(self) -> str:
        payload = json.dumps({"version": SEARCH_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class GaitSearchResult:
    params: GaitParams  # the search distribution's final mean
    score: float  # mean score of ``params`` over ``eval_episodes`` fresh rollouts (m/s)
    init_score: float  # the same for the starting point, on the same rollouts
    history: list[dict]  # per iteration: best, elite mean and population mean score
    seconds: float
    settings: GaitSearchSettings

    def to_json(self) -> dict:
        return {
            "params": self.params.to_dict(),
            "score": self.score,
            "init_score": self.init_score,
            "history": self.history,
            "seconds": self.seconds,
            "settings": asdict(self.settings),
            "key": self.settings.key(),
            "version": SEARCH_VERSION,
        }


def make_open_floor_env():
    """An AntMaze env whose maze is a 7x7-cell (28 m) open floor with walls around it."""
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    n = OPEN_FLOOR_CELLS
    maze_map = [[1] * (n + 2)] + [[1] + [0] * n + [1] for _ in range(n)] + [[1] * (n + 2)]
    return gym.make("AntMaze_UMaze-v5", maze_map=maze_map, continuing_task=True, reset_target=False)


def _next_waypoint(xy: np.ndarray, rng: np.random.Generator, distance: float, half_width: float) -> np.ndarray:
    """A point ``distance`` away in a random direction, turned back toward the centre if it would leave the floor."""
    angle = rng.uniform(-np.pi, np.pi)
    point = xy + distance * np.array([np.cos(angle), np.sin(angle)])
    if np.abs(point).max() > half_width:
        inward = -xy / max(np.linalg.norm(xy), 1e-6)
        point = xy + distance * inward
    return point


def score_gait(params: GaitParams, env, settings: GaitSearchSettings, seed: int) -> tuple[float, bool]:
    """(progress speed toward random waypoints in m/s, minus the flip penalty; whether it flipped) for one rollout."""
    rng = np.random.default_rng(seed)
    centre = (OPEN_FLOOR_CELLS + 2) // 2
    env.reset(seed=int(rng.integers(2**31 - 1)), options={"reset_cell": (centre, centre), "goal_cell": (1, 1)})
    ant = ant_mujoco_env(env)
    qpos, qvel = ant.data.qpos, ant.data.qvel
    qpos_index, _ = actuator_joint_indices(ant.model)
    gait = TrotGait(params, dt=ant.dt, actuator_joints=qpos_index - 7, phase=rng.uniform(0, 2 * np.pi))
    half_width = (OPEN_FLOOR_CELLS / 2 - 1) * 4.0
    noise = rng.standard_normal((settings.episode_steps, 8)) * settings.action_noise_std
    waypoint = _next_waypoint(qpos[:2].copy(), rng, settings.waypoint_distance, half_width)
    progress, flipped = 0.0, False
    for t in range(settings.episode_steps):
        xy = qpos[:2].copy()
        if np.hypot(*(waypoint - xy)) < settings.waypoint_radius:
            waypoint = _next_waypoint(xy, rng, settings.waypoint_distance, half_width)
        before = np.hypot(*(waypoint - xy))
        action = np.clip(gait.act(qpos, qvel, waypoint - xy) + noise[t], -1.0, 1.0)
        ant.do_simulation(action, ant.frame_skip)
        progress += before - np.hypot(*(waypoint - qpos[:2]))
        if is_flipped(qpos[3:7]):
            flipped = True
            break
    speed = progress / (settings.episode_steps * ant.dt)
    return speed - (settings.flip_penalty if flipped else 0.0), flipped


def evaluate_gait(params: GaitParams, env, settings: GaitSearchSettings, seeds: np.ndarray) -> float:
    """Mean ``score_gait`` over rollouts with the given seeds."""
    return float(np.mean([score_gait(params, env, settings, int(s))[0] for s in seeds]))


def search_gait(settings: GaitSearchSettings = GaitSearchSettings(), *, progress: bool = True) -> GaitSearchResult:
    """Cross-entropy search over ``GaitParams`` within ``PARAM_BOUNDS``, starting from ``settings.init``."""
    if settings.elites < 1 or settings.elites > settings.population:
        raise ValueError(f"elites must be in [1, population={settings.population}]; got {settings.elites}")
    started = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    low, high = PARAM_BOUNDS[:, 0], PARAM_BOUNDS[:, 1]
    mean = np.clip(np.asarray(settings.init, dtype=np.float64), low, high)
    std = settings.init_std * (high - low)
    env = make_open_floor_env()
    history: list[dict] = []
    start = GaitParams.from_array(mean)
    iterations = range(settings.iterations)
    if progress:
        from tqdm.auto import tqdm

        iterations = tqdm(iterations, desc="gait CEM", unit="iter")
    try:
        for it in iterations:
            candidates = np.clip(mean + std * rng.standard_normal((settings.population, mean.size)), low, high)
            candidates[0] = mean  # keep the current mean in the race, so a good start is never lost to noise
            seeds = rng.integers(2**31 - 1, size=settings.episodes)
            scores = np.array([evaluate_gait(GaitParams.from_array(c), env, settings, seeds) for c in candidates])
            order = np.argsort(-scores)
            elites = candidates[order[: settings.elites]]
            mean, std = elites.mean(axis=0), np.maximum(elites.std(axis=0), 0.01 * (high - low))
            history.append(
                {
                    "iteration": it,
                    "best": float(scores[order[0]]),
                    "elite_mean": float(scores[order[: settings.elites]].mean()),
                    "population_mean": float(scores.mean()),
                }
            )
        result = GaitParams.from_array(mean)
        eval_seeds = rng.integers(2**31 - 1, size=settings.eval_episodes)
        score, init_score = (evaluate_gait(p, env, settings, eval_seeds) for p in (result, start))
    finally:
        env.close()
    return GaitSearchResult(result, score, init_score, history, time.perf_counter() - started, settings)


def cache_path(settings: GaitSearchSettings) -> Path:
    return rlkit_data_dir() / "gait_search" / f"{settings.key()}.json"


def cached_search(settings: GaitSearchSettings = GaitSearchSettings(), *, progress: bool = True) -> dict:
    """The search's result (``GaitSearchResult.to_json()``) from the disk cache, running the search on a miss."""
    path = cache_path(settings)
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: corrupt gait-search cache ({exc}); delete it to search again") from None
    text = json.dumps(search_gait(settings, progress=progress).to_json(), indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # atomic: a stopped search leaves no half-written cache
    return json.loads(text)  # the same types a cache hit returns


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Cross-entropy search for the ant trotting gait (cached).")
    parser.add_argument("--iterations", type=int, default=GaitSearchSettings.iterations)
    parser.add_argument("--population", type=int, default=GaitSearchSettings.population)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = GaitSearchSettings(iterations=args.iterations, population=args.population, seed=args.seed)
    result = cached_search(settings)
    print(json.dumps({k: result[k] for k in ("params", "score", "init_score", "seconds", "history")}, indent=1))
    print(f"cached at {cache_path(settings)}")


if __name__ == "__main__":
    main()
