"""{hopper,halfcheetah,walker2d,ant}-random-v2: uniform random actions in gymnasium's MuJoCo v5 envs.

As D4RL's "random" level: actions drawn uniformly from the action box, an episode ends when the env terminates
(the body fell) or after 1000 steps, and the file has D4RL's gym-mujoco layout (next_observations, terminals on
termination, timeouts on the time limit, infos/qpos and infos/qvel of s_t, infos/action_log_probs). Differences
from D4RL's v2 files (v5 envs instead of v3, Ant's observation size) are listed in ``docs/datasets.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tensordict import TensorDict

from rlkit.data.generators.policy_rollout import UniformRandomPolicy, rollout_dataset
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

    space = gym.make(env_id).action_space
    policy = UniformRandomPolicy(space.low, space.high)
    td = rollout_dataset(env_id, policy, steps, seed, max_episode_steps=max_episode_steps, progress=progress)
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
