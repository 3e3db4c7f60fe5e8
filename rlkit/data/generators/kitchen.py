"""kitchen-{complete,partial,mixed}-v0: scripted-controller episodes in FrankaKitchen-v1, in D4RL's kitchen layout.

D4RL's kitchen data are relabelled human demonstrations (``scripts/generation/generate_kitchen_datasets.py``); here
``rlkit.agents.kitchen_controller.KitchenController`` plays the subtasks instead. What the three names mean (D4RL):

- complete: every episode does the four target subtasks (microwave, kettle, bottom burner, light switch) in order;
- partial: some episodes (``PARTIAL_FULL_FRACTION``) do them, the others other combinations;
- mixed: subtasks in other combinations and orders; no episode does all four targets.

Rows are in D4RL's 60-d layout (``rlkit.envs.kitchen_layout``: 9 joints + 21 object positions + the constant 30-d
goal of the target tasks), with gymnasium's 59-d observation kept in ``infos/gymnasium_observation``. Rewards are
what the env reports with ``remove_task_when_completed=False`` (D4RL's Markovian relabelling): the number of target
subtasks complete in s'. Each episode ends with a terminal once the controller has finished its subtasks (D4RL
marks the last step of every demonstration terminal) or with a timeout at ``EPISODE_STEPS``. Diversity: random
warm-up actions, perturbed initial arm joints, action noise and the subtask order. Every difference from D4RL is
listed in ``docs/datasets.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from tensordict import TensorDict

from rlkit.data.generators.parallel import generate_sharded, shard_rng
from rlkit.data.layout import transitions_from_arrays
from rlkit.data.registry import register_dataset
from rlkit.envs.kitchen_layout import TARGET_TASKS, gymnasium_to_d4rl

ENV_ID = "FrankaKitchen-v1"
EPISODE_STEPS = 400  # D4RL/gymnasium use 280; all four subtasks take the controller ~335 steps, plus warm-up
WARMUP_STEPS = (0, 10)  # random warm-up actions before the controller starts (inclusive range)
WARMUP_ACTION_SCALE = 0.3  # warm-up actions ~ U(-0.3, 0.3)
ACTION_NOISE = 0.05  # U(-0.05, 0.05) added to every controller action, then clipped to [-1, 1]
INIT_JOINT_NOISE = 0.03  # U(-0.03, 0.03) rad added to each arm joint after reset
PARTIAL_FULL_FRACTION = 0.25  # share of kitchen-partial-v0 episodes doing the full target sequence
OTHER_PLAN_SIZES = (2, 3)  # subtasks in an episode that is not the full target sequence
EPISODES_PER_SHARD = 2
VARIANTS = {
    "complete": (3_680, 340),  # D4RL's size, typical episode length (to size the first round of shards)
    "partial": (136_950, 240),
    "mixed": (136_950, 220),
}

_ENV_CACHE: list[Any] = []  # one env per process, reused by its shards


def make_kitchen_env(max_episode_steps: int = EPISODE_STEPS):
    """FrankaKitchen-v1 with the target tasks and D4RL's Markovian reward (completed tasks stay counted)."""
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    return gym.make(
        ENV_ID,
        tasks_to_complete=list(TARGET_TASKS),
        remove_task_when_completed=False,
        terminate_on_tasks_completed=False,
        max_episode_steps=max_episode_steps,
        disable_env_checker=True,  # FrankaKitchen-v1 reuses its observation arrays; rollouts copy every step
    )


def task_bitmask(tasks) -> int:
    """Bit i set for ``TARGET_TASKS[i]`` in ``tasks``."""
    return sum(1 << TARGET_TASKS.index(task) for task in tasks)


def episode_plan(variant: str, rng: np.random.Generator) -> list[str]:
    """The subtask order of one episode of ``variant`` (see the module docstring)."""
    if variant == "complete" or (variant == "partial" and rng.random() < PARTIAL_FULL_FRACTION):
        return list(TARGET_TASKS)
    if variant not in VARIANTS:
        raise ValueError(f"unknown kitchen variant {variant!r}; expected one of {sorted(VARIANTS)}")
    size = int(rng.choice(OTHER_PLAN_SIZES))
    return [TARGET_TASKS[i] for i in rng.permutation(len(TARGET_TASKS))[:size]]


def _perturb_arm(kitchen, rng: np.random.Generator) -> np.ndarray:
    """Move the arm's joints by a little noise after reset; return the new gymnasium observation."""
    robot = kitchen.robot_env
    qpos, qvel = kitchen.data.qpos.copy(), kitchen.data.qvel.copy()
    qpos[:7] += rng.uniform(-INIT_JOINT_NOISE, INIT_JOINT_NOISE, 7)
    robot.set_state(qpos, qvel)
    return kitchen._get_obs(robot._get_obs())["observation"]


def run_episode(env, controller, plan: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One episode: arrays of its rows (observations in both layouts, actions, rewards, completions, ends)."""
    from rlkit.agents.kitchen_controller import kitchen_env_state

    kitchen = env.unwrapped
    env.reset(seed=int(rng.integers(0, 2**31 - 1)))
    obs = _perturb_arm(kitchen, rng)
    warmup = int(rng.integers(WARMUP_STEPS[0], WARMUP_STEPS[1] + 1))
    controller.reset(plan, rng)
    rows: dict[str, list] = {"obs": [], "action": [], "reward": [], "completed": []}
    completed = 0
    end_terminal = False
    for t in range(EPISODE_STEPS):
        if t < warmup:
            action = rng.uniform(-WARMUP_ACTION_SCALE, WARMUP_ACTION_SCALE, 9)
        else:
            if controller.done:
                end_terminal = True
                break
            action = controller.act(kitchen_env_state(env)) + rng.uniform(-ACTION_NOISE, ACTION_NOISE, 9)
        action = np.clip(action, -1.0, 1.0)
        next_obs, reward, _, _, info = env.step(action)
        completed |= task_bitmask(info["episode_task_completions"])
        rows["obs"].append(obs)
        rows["action"].append(action)
        rows["reward"].append(reward)
        rows["completed"].append(completed)
        obs = next_obs["observation"]
    n = len(rows["obs"])
    if end_terminal and n == 0:  # an empty plan: cannot happen with the plans above, but never write nothing
        raise RuntimeError("the kitchen controller finished before taking a step")
    gym_obs = np.asarray(rows["obs"], dtype=np.float64)
    terminals = np.zeros(n, dtype=bool)
    timeouts = np.zeros(n, dtype=bool)
    (terminals if end_terminal else timeouts)[-1] = True
    return {
        "observations": gymnasium_to_d4rl(gym_obs).astype(np.float32),
        "actions": np.asarray(rows["action"], dtype=np.float32),
        "rewards": np.asarray(rows["reward"], dtype=np.float32),
        "terminals": terminals,
        "timeouts": timeouts,
        "infos/gymnasium_observation": gym_obs.astype(np.float32),
        "infos/tasks_completed": np.asarray(rows["completed"], dtype=np.int8),
        "infos/task_plan": np.full(n, task_bitmask(plan), dtype=np.int8),
    }


def make_shard(shard_index: int, seed: int, report: Callable[[int], None], *, variant: str,
               first_index: int = 0) -> dict[str, np.ndarray]:
    """``EPISODES_PER_SHARD`` whole episodes of ``variant``, from shard ``first_index + shard_index``'s stream."""
    from rlkit.agents.kitchen_controller import KitchenController

    rng = shard_rng(seed, first_index + shard_index)
    if not _ENV_CACHE:
        _ENV_CACHE.append(make_kitchen_env())
    env = _ENV_CACHE[0]
    controller = KitchenController(env.unwrapped.model)
    episodes = []
    for _ in range(EPISODES_PER_SHARD):
        episodes.append(run_episode(env, controller, episode_plan(variant, rng), rng))
        report(len(episodes[-1]["actions"]))
    return {key: np.concatenate([ep[key] for ep in episodes]) for key in episodes[0]}


def generate_kitchen(
    variant: str, steps: int, seed: int, *, progress: bool = True, workers: int | None = None
) -> tuple[TensorDict, dict]:
    """``steps`` transitions of kitchen-``variant``-v0 (whole episodes in shard order, the last one cut if needed)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown kitchen variant {variant!r}; expected one of {sorted(VARIANTS)}")
    if steps <= 0:
        raise ValueError(f"steps must be a positive number of transitions; got {steps}")
    typical_length = VARIANTS[variant][1]
    shards: list[dict[str, np.ndarray]] = []
    total = 0
    while total < steps:  # whole shards until there are enough rows; the shard list depends only on (steps, seed)
        missing = steps - total
        count = max(1, math.ceil(missing / (EPISODES_PER_SHARD * typical_length)))
        shard_fn = functools.partial(make_shard, variant=variant, first_index=len(shards))
        new = generate_sharded(shard_fn, count, seed, workers=workers, progress=progress,
                               desc=f"kitchen-{variant}-v0", total_steps=missing)
        shards.extend(new)
        total += sum(len(shard["actions"]) for shard in new)
    full = {key: np.concatenate([shard[key] for shard in shards]) for key in shards[0]}
    metadata = _metadata(variant, full, len(shards))  # over every generated episode, before the cut
    arrays = {key: value[:steps] for key, value in full.items()}
    cut_episode = not (arrays["terminals"][-1] or arrays["timeouts"][-1])
    if cut_episode:
        arrays["timeouts"][-1] = True  # the cut episode ends here: a timeout, never a silent continuation
    infos = {key.removeprefix("infos/"): value for key, value in arrays.items() if key.startswith("infos/")}
    td = transitions_from_arrays(
        arrays["observations"], arrays["actions"], arrays["rewards"], arrays["terminals"], arrays["timeouts"],
        infos=infos, source=f"kitchen-{variant}-v0 generator",
    )
    metadata["last_episode_cut"] = bool(cut_episode)
    return td, metadata


def _metadata(variant: str, arrays: dict[str, np.ndarray], num_shards: int) -> dict[str, Any]:
    """Settings and controller statistics over all generated episodes (before cutting to ``steps``)."""
    from rlkit.data.generators.kitchen_report import completion_summary

    summary = completion_summary(arrays["infos/tasks_completed"], arrays["infos/task_plan"],
                                 arrays["terminals"] | arrays["timeouts"])
    return {
        "algorithm": "scripted DLS-IK kitchen controller (rlkit.agents.kitchen_controller), D4RL kitchen recipe",
        "env_id": ENV_ID,
        "layout": "maze",  # D4RL's kitchen files have no next_observations: s' is the next row
        "observation_layout": "d4rl-kitchen-60 (qp 9 + obj_qp 21 + goal 30); gymnasium's 59 in infos",
        "variant": variant,
        "target_tasks": ",".join(TARGET_TASKS),
        "max_episode_steps": EPISODE_STEPS,
        "action_noise_uniform": ACTION_NOISE,
        "warmup_steps": list(WARMUP_STEPS),
        "warmup_action_scale": WARMUP_ACTION_SCALE,
        "init_joint_noise": INIT_JOINT_NOISE,
        "partial_full_fraction": PARTIAL_FULL_FRACTION if variant == "partial" else (1.0 if variant == "complete"
                                                                                     else 0.0),
        "episodes_per_shard": EPISODES_PER_SHARD,
        "num_shards": num_shards,
        "generated_episodes": int(summary["episodes"]),
        "failed_episodes": int(summary["failed_episodes"]),  # the controller missed a planned subtask
        "timeout_episodes": int(arrays["timeouts"].sum()),
        "planned_subtask_success": float(summary["success"]),
    }


def _register(variant: str) -> None:
    name = f"kitchen-{variant}-v0"
    default_steps = VARIANTS[variant][0]

    def build(steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
        return generate_kitchen(variant, steps, seed, progress=progress)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    register_dataset(
        name,
        default_steps=default_steps,
        description=f"FrankaKitchen-v1, scripted controller, {variant} (D4RL 60-d kitchen layout)",
    )(build)


for _variant in VARIANTS:
    _register(_variant)
