"""BOReL-style offline meta-RL data: one agent per task, tasks collected in parallel, written as per-task folders.

BOReL trains one RL agent per task (DQN in the grid, SAC elsewhere) and saves its whole replay buffer, from the
first random rollouts to the trained policy. Its point is that such data are *task-specific*: each task's agent goes
to its own goal. Agents here (``agent=``):

* ``"scripted"``: a noisy controller that heads for the task's goal (the point robot's goal, the wind domain's fixed
  goal, the escape room's door then outwards, the grid's goal cell). Its noise falls linearly over the meta-episodes
  from ``max_noise`` (nearly random) to ``min_noise``, as a learning agent's buffer goes from exploration to a good
  policy. MuJoCo families (cheetah, ant) get the random controller. Seconds per task.
* ``"random"``: uniform random actions.
* ``"learned"``: DQN (grid) / SAC (continuous) trained online per task with the original's settings
  (``rlkit.data.generators.meta_tasks_learned``), the whole buffer saved, as the original.

Every task is one shard of ``generate_sharded``, its randomness from ``shard_rng(seed, task_index)``, so the data of
a seed do not depend on the number of processes. ``collect_meta_tasks("point_robot_sparse", out=...)`` or
``python -m rlkit.data.generators.meta_tasks --env-type point_robot_sparse`` writes the folders.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlkit.data.generators.parallel import Report, generate_sharded, shard_rng
from rlkit.data.paths import rlkit_data_dir
from rlkit.data.task_folders import (
    MetaDataset,
    default_task_names,
    save_task_folders,
    transitions_from_task_arrays,
)

AGENTS = ("scripted", "random", "learned")
MAX_NOISE, MIN_NOISE = 1.0, 0.1
GAIN = 10.0  # a point-mass action of 1 moves 0.1, so this reaches a target within one step when it is close
ESCAPE_INSIDE, ESCAPE_OUTSIDE = 0.85, 1.3  # escape room: a waypoint inside the door, then a target beyond it
WIND_GOAL = np.array([0.0, 1.0])
# The original's volumes (transitions per task / meta-episode length) where the reference gives them.
DEFAULT_META_EPISODES = {"gridworld": 510, "point_robot_sparse": 650}
FALLBACK_META_EPISODES = 200


# ------------------------------------------------------------------------------------------------------ controllers
def _toward(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.clip(GAIN * (target - position), -1.0, 1.0)


def _grid_greedy(position: np.ndarray, goal: np.ndarray) -> int:
    """GridNavi action (noop, up, right, down, left) that closes the larger coordinate gap to ``goal``."""
    dx, dy = goal[0] - position[0], goal[1] - position[1]
    if dx == 0 and dy == 0:
        return 0
    if abs(dx) >= abs(dy):
        return 2 if dx > 0 else 4
    return 1 if dy > 0 else 3


def _point_target(name: str, task: np.ndarray, position: np.ndarray) -> np.ndarray:
    if name == "PointRobotSparse":
        return task[:2]
    if name == "Wind":
        return WIND_GOAL
    if name == "EscapeRoom":
        door = np.array([np.cos(task[0]), np.sin(task[0])])
        inside = np.linalg.norm(position) < ESCAPE_INSIDE
        return (ESCAPE_INSIDE + 0.05) * door if inside else ESCAPE_OUTSIDE * door
    raise KeyError(name)


SCRIPTED_FAMILIES = ("GridNavi", "PointRobotSparse", "Wind", "EscapeRoom")


def scripted_action(family: Any, task: np.ndarray, obs: np.ndarray, noise: float, rng: np.random.Generator) -> Any:
    """The scripted controller's action in ``family`` at ``obs`` for ``task``: goal-directed plus exploration.

    Continuous point-mass families: ``clip(GAIN * (target - position) + noise * N(0, I), -1, 1)``. The grid: the
    greedy move with probability ``1 - noise``, else a uniform one. Other families: uniform random.
    """
    name = getattr(family, "name", "")
    if name == "GridNavi":
        if rng.random() < noise:
            return int(rng.integers(family.num_actions))
        return _grid_greedy(obs[:2], task[:2])
    if name in SCRIPTED_FAMILIES:
        action = _toward(obs[:2], _point_target(name, task, obs[:2])) + noise * rng.standard_normal(2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
    return random_action(family, rng)


def random_action(family: Any, rng: np.random.Generator) -> Any:
    if getattr(family, "num_actions", None):
        return int(rng.integers(family.num_actions))
    return rng.uniform(-1.0, 1.0, size=family.action_dim).astype(np.float32)


# ------------------------------------------------------------------------------------------------------- rollouts
def _one_hot(index: int, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[index] = 1.0
    return out


def rollout_task(
    family: Any,
    task: np.ndarray,
    act: Callable[[np.ndarray, int], Any],
    *,
    episode_length: int,
    episodes_per_task: int,
    meta_episodes: int,
    rng: np.random.Generator,
    env_kwargs: dict | None = None,
    report: Report | None = None,
) -> dict[str, np.ndarray]:
    """Run ``act(obs, meta_episode) -> action`` for ``meta_episodes`` meta-episodes in task ``task``: BOReL's arrays.

    Each inner episode restarts the env (same task, a start from the env's seeded RNG), as the BAMDP wrapper does.
    Returns ``obs``, ``actions`` (one-hot if discrete), ``rewards`` (N, 1), ``next_obs``, ``terminals`` (N, 1) =
    goal reached (``info["success"]``).
    """
    env = family.make_env(task, **(env_kwargs or {}))
    num_actions = getattr(family, "num_actions", None)
    rows: dict[str, list] = {"obs": [], "actions": [], "rewards": [], "next_obs": [], "terminals": []}
    for m in range(meta_episodes):
        for _ in range(episodes_per_task):
            obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
            for t in range(episode_length):
                action = act(obs, m)
                next_obs, reward, terminated, truncated, info = env.step(action)
                if terminated or (truncated and t < episode_length - 1):
                    raise RuntimeError(f"{family!r}: the episode ended after {t + 1} steps; expected {episode_length}")
                rows["obs"].append(obs)
                rows["actions"].append(_one_hot(action, num_actions) if num_actions else action)
                rows["rewards"].append(reward)
                rows["next_obs"].append(next_obs)
                rows["terminals"].append(bool(info.get("success", False)))
                obs = next_obs
        if report is not None:
            report(episode_length * episodes_per_task)
    env.close()
    return {
        "obs": np.asarray(rows["obs"], dtype=np.float32),
        "actions": np.asarray(rows["actions"], dtype=np.float32).reshape(len(rows["obs"]), -1),
        "rewards": np.asarray(rows["rewards"], dtype=np.float32).reshape(-1, 1),
        "next_obs": np.asarray(rows["next_obs"], dtype=np.float32),
        "terminals": np.asarray(rows["terminals"], dtype=np.float32).reshape(-1, 1),
    }


def noise_schedule(meta_episodes: int, max_noise: float = MAX_NOISE, min_noise: float = MIN_NOISE) -> np.ndarray:
    """Exploration noise of each meta-episode: linear from ``max_noise`` to ``min_noise``."""
    return np.linspace(max_noise, min_noise, meta_episodes) if meta_episodes > 1 else np.array([min_noise])


def collect_task(
    family: Any,
    task: np.ndarray,
    *,
    agent: str,
    episode_length: int,
    episodes_per_task: int,
    meta_episodes: int,
    rng: np.random.Generator,
    env_kwargs: dict | None = None,
    report: Report | None = None,
    learned_settings: Any = None,
) -> dict[str, np.ndarray]:
    """One task's data from one agent (see the module docstring): BOReL's arrays of ``rollout_task``."""
    task = np.asarray(task, dtype=np.float64)
    options = {"episode_length": episode_length, "episodes_per_task": episodes_per_task, "rng": rng,
               "env_kwargs": env_kwargs, "report": report}
    if agent == "scripted":
        noise = noise_schedule(meta_episodes)
        return rollout_task(family, task, lambda obs, m: scripted_action(family, task, obs, noise[m], rng),
                            meta_episodes=meta_episodes, **options)
    if agent == "random":
        return rollout_task(family, task, lambda obs, m: random_action(family, rng), meta_episodes=meta_episodes,
                            **options)
    if agent == "learned":
        from rlkit.data.generators.meta_tasks_learned import train_and_collect

        return train_and_collect(family, task, meta_episodes=meta_episodes, settings=learned_settings, **options)
    raise ValueError(f"unknown agent {agent!r}; expected one of {AGENTS}")


def _collect_shard(shard_index: int, seed: int, report: Report, *, family: Any, tasks: np.ndarray,
                   **kwargs: Any) -> dict[str, np.ndarray]:
    return collect_task(family, tasks[shard_index], rng=shard_rng(seed, shard_index), report=report, **kwargs)


def collect_meta_dataset(
    family: Any,
    tasks: np.ndarray,
    *,
    episode_length: int,
    episodes_per_task: int,
    meta_episodes: int,
    agent: str = "scripted",
    seed: int = 0,
    workers: int | None = 1,
    progress: bool = False,
    env_kwargs: dict | None = None,
    names: Sequence[str] | None = None,
    learned_settings: Any = None,
) -> MetaDataset:
    """Collect every task of ``tasks`` (one shard each, ``workers`` processes): a ``MetaDataset``.

    ``family`` must be picklable when ``workers > 1`` (the task families of ``rlkit.envs.meta`` are).
    ``learned_settings``: a ``meta_tasks_learned.LearnedAgentSettings`` replacing the original's for ``"learned"``.
    """
    if agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r}; expected one of {AGENTS}")
    if meta_episodes < 1:
        raise ValueError(f"meta_episodes={meta_episodes}; expected >= 1")
    tasks = np.asarray(tasks, dtype=np.float64).reshape(len(tasks), -1)
    shard = functools.partial(
        _collect_shard, family=family, tasks=tasks, agent=agent, episode_length=episode_length,
        episodes_per_task=episodes_per_task, meta_episodes=meta_episodes, env_kwargs=env_kwargs,
        learned_settings=learned_settings,
    )
    total = len(tasks) * meta_episodes * episode_length * episodes_per_task
    shards = generate_sharded(shard, len(tasks), seed, workers=workers, progress=progress,
                              desc=f"{getattr(family, 'name', 'tasks')} ({agent})", total_steps=total)
    names = default_task_names(tasks) if names is None else list(names)
    data = [
        transitions_from_task_arrays(**arrays, task=task, episode_length=episode_length,
                                     episodes_per_task=episodes_per_task, source=name)
        for arrays, task, name in zip(shards, tasks, names)
    ]
    return MetaDataset(tasks, data, names, episode_length, episodes_per_task)


def default_output_dir(env_type: str, agent: str) -> Path:
    """``$RLKIT_DATA_DIR/borel/{env_type}/{agent}``: the task folders of one env type and agent."""
    return rlkit_data_dir() / "borel" / env_type / agent


def collect_meta_tasks(
    env_type: str,
    num_tasks: int | None = None,
    *,
    out: str | Path | None = None,
    agent: str = "scripted",
    meta_episodes: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> MetaDataset:
    """Collect ``num_tasks`` tasks (default: the env type's training tasks) of a BOReL env type and write them.

    Tasks come from ``family.sample_tasks(num_tasks, default_rng(seed))``; envs use the original's data-collection
    starts (the registry's ``collection_kwargs``). Folders are written atomically under ``out`` (default
    ``default_output_dir``).
    """
    from rlkit.envs.meta.registry import meta_env_spec

    spec = meta_env_spec(env_type)
    out = default_output_dir(env_type, agent) if out is None else Path(out).expanduser()
    if out.exists() and not overwrite:  # before collecting, not after
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    family = spec.family()
    num_tasks = spec.num_train_tasks if num_tasks is None else int(num_tasks)
    tasks = family.sample_tasks(num_tasks, np.random.default_rng(seed))
    if meta_episodes is None:
        meta_episodes = DEFAULT_META_EPISODES.get(env_type, FALLBACK_META_EPISODES)
    dataset = collect_meta_dataset(
        family, tasks, episode_length=spec.episode_steps, episodes_per_task=spec.episodes_per_task,
        meta_episodes=meta_episodes, agent=agent, seed=seed, workers=workers, progress=progress,
        env_kwargs=dict(spec.collection_kwargs),
    )
    save_task_folders(dataset, out, overwrite=overwrite)
    return dataset


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Collect BOReL per-task folders (one agent per task).")
    parser.add_argument("--env-type", required=True, help="gridworld, point_robot_sparse, point_robot_wind, ...")
    parser.add_argument("--num-tasks", type=int, default=None, help="default: the env type's training tasks")
    parser.add_argument("--agent", choices=AGENTS, default="scripted")
    parser.add_argument("--meta-episodes", type=int, default=None, help="meta-episodes per task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    parser.add_argument("--out", type=Path, default=None, help="default: $RLKIT_DATA_DIR/borel/ENV_TYPE/AGENT")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    try:
        dataset = collect_meta_tasks(
            args.env_type, args.num_tasks, out=args.out, agent=args.agent, meta_episodes=args.meta_episodes,
            seed=args.seed, workers=args.workers, overwrite=args.overwrite,
        )
    except (FileExistsError, KeyError, ValueError) as exc:  # user errors: one line, status 1
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        raise SystemExit(1) from None
    out = args.out or default_output_dir(args.env_type, args.agent)
    rows = sum(td.batch_size[0] for td in dataset.data)
    print(f"wrote {len(dataset)} task folders ({rows} transitions) to {out}")


if __name__ == "__main__":
    main()
