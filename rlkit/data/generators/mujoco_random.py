"""{hopper,halfcheetah,walker2d,ant}-random-v2: uniform random actions in gymnasium's MuJoCo v5 envs.

As D4RL's "random" level: actions drawn uniformly from the action box, an episode ends when the env terminates
(the body fell) or after 1000 steps, and the file has D4RL's gym-mujoco layout (next_observations, terminals on
termination, timeouts on the time limit, infos/qpos and infos/qvel of s_t, infos/action_log_probs). Differences
from D4RL's v2 files (v5 envs instead of v3, Ant's observation size) are listed in ``docs/datasets.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tensordict import TensorDict

from rlkit.data.generators.rollout import RolloutArrays, env_seed, progress_chunks, spawn_generators
from rlkit.data.registry import register_dataset

MAX_EPISODE_STEPS = 1000
DEFAULT_STEPS = 1_000_000


@dataclass(frozen=True)
class RandomSpec:
    env_id: str


ENVS = {
    "hopper": RandomSpec("Hopper-v5"),
    "halfcheetah": RandomSpec("HalfCheetah-v5"),
    "walker2d": RandomSpec("Walker2d-v5"),
    "ant": RandomSpec("Ant-v5"),
}


def generate_random(
    env_id: str, steps: int, seed: int, *, max_episode_steps: int = MAX_EPISODE_STEPS, progress: bool = True
) -> tuple[TensorDict, dict]:
    """Roll a uniform random policy out in gymnasium env ``env_id`` for ``steps`` transitions."""
    import gymnasium as gym

    env_rng, action_rng = spawn_generators(seed, 2)
    env = gym.make(env_id).unwrapped  # the time limit is counted here, so a truncation is known exactly
    low = env.action_space.low.astype(np.float64)
    high = env.action_space.high.astype(np.float64)
    obs_dim, act_dim = env.observation_space.shape[0], low.shape[0]
    data = env.data
    arrays = RolloutArrays(
        steps,
        {
            "observations": ((obs_dim,), np.float32),
            "next_observations": ((obs_dim,), np.float32),
            "actions": ((act_dim,), np.float32),
            "rewards": ((), np.float32),
            "terminals": ((), bool),
            "timeouts": ((), bool),
            "infos/qpos": ((data.qpos.shape[0],), np.float32),
            "infos/qvel": ((data.qvel.shape[0],), np.float32),
        },
    )
    obs_out, next_out, act_out = arrays["observations"], arrays["next_observations"], arrays["actions"]
    rew_out, term_out, trunc_out = arrays["rewards"], arrays["terminals"], arrays["timeouts"]
    qpos_out, qvel_out = arrays["infos/qpos"], arrays["infos/qvel"]

    obs = env.reset(seed=env_seed(env_rng))[0]
    episode_steps = 0
    for start, stop in progress_chunks(steps, desc=env_id, progress=progress):
        actions = action_rng.uniform(low, high, size=(stop - start, act_dim)).astype(np.float32)
        act_out[start:stop] = actions
        for t in range(start, stop):
            obs_out[t] = obs
            qpos_out[t] = data.qpos
            qvel_out[t] = data.qvel
            next_obs, reward, terminated, _, _ = env.step(actions[t - start])
            episode_steps += 1
            next_out[t] = next_obs
            rew_out[t] = reward
            truncated = not terminated and episode_steps >= max_episode_steps
            if terminated or truncated:
                term_out[t], trunc_out[t] = terminated, truncated
                obs, episode_steps = env.reset()[0], 0
            else:
                obs = next_obs
    env.close()
    arrays["infos/action_log_probs"] = np.full(steps, -np.log(high - low).sum(), dtype=np.float32)
    td = arrays.transitions(source=f"{env_id} random generator")
    metadata = {
        "algorithm": "uniform random actions",
        "env_id": env_id,
        "layout": "mujoco",
        "max_episode_steps": max_episode_steps,
    }
    return td, metadata


def _register(short: str, spec: RandomSpec) -> None:
    name = f"{short}-random-v2"

    def build(steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
        return generate_random(spec.env_id, steps, seed, progress=progress)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    register_dataset(
        name,
        default_steps=DEFAULT_STEPS,
        description=f"uniform random actions in {spec.env_id}, episodes of at most {MAX_EPISODE_STEPS} steps",
    )(build)


for _short, _spec in ENVS.items():
    _register(_short, _spec)
