"""{hopper,halfcheetah,walker2d,ant}-medium-v2: roll-outs of a TD3 policy trained online to a "medium" return.

D4RL made its medium level by stopping an online SAC run early, at roughly a third of expert performance, and
sampling 1M transitions from that policy. Here an rlkit ``TD3Agent`` is trained in gymnasium's MuJoCo v5 env until
its deterministic evaluation return reaches the env's ``target_return`` (or ``max_train_steps`` runs out, whichever
comes first), the actor is cached under ``rlkit_data_dir()/policies/`` (keyed by env, seed and every setting, so a
second build reuses it), and ``rollout_dataset`` samples ``steps`` transitions from it with Gaussian action noise.

A policy that did not reach its target is never passed off as "medium": the metadata records the training steps,
the reached evaluation return and ``target_reached``, and a warning is printed.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.agents.td3_training import TD3TrainConfig, train_td3_online
from rlkit.data import keys as K
from rlkit.data.generators.policy_rollout import RolloutPolicy, rollout_dataset
from rlkit.data.paths import rlkit_data_dir
from rlkit.data.registry import register_dataset
from rlkit.modules.mlp import MLP
from rlkit.utils.atomic import atomic_path

MAX_EPISODE_STEPS = 1000
DEFAULT_STEPS = 1_000_000
ROLLOUT_ACTION_NOISE = 0.1
"""Std of the Gaussian noise added to the actor's actions in the dataset (D4RL sampled its stochastic SAC policy;
a TD3 actor is deterministic, so TD3's own exploration noise stands in for that spread)."""


@dataclass(frozen=True)
class MediumSpec:
    """How one env's medium policy is trained: stop at ``target_return`` or after ``max_train_steps`` env steps."""

    env_id: str
    target_return: float
    max_train_steps: int
    config: TD3TrainConfig = field(default_factory=TD3TrainConfig)


# Targets: about D4RL's medium level (a third of expert and up; its medium files average roughly 1,400-1,500 for the
# hopper, 4,800 for halfcheetah, 3,000 for walker2d and 3,000 for the ant).
SPECS: dict[str, MediumSpec] = {
    "hopper": MediumSpec("Hopper-v5", target_return=1500.0, max_train_steps=1_000_000),
    "halfcheetah": MediumSpec("HalfCheetah-v5", target_return=4500.0, max_train_steps=1_000_000),
    "walker2d": MediumSpec("Walker2d-v5", target_return=3000.0, max_train_steps=1_000_000),
    "ant": MediumSpec("Ant-v5", target_return=3000.0, max_train_steps=1_000_000),
}


class NoisyActorPolicy(RolloutPolicy):
    """A deterministic actor plus N(0, noise_std) per action dimension, clipped to [-1, 1].

    No log-probability is reported: clipping puts probability mass on the box's faces, so the Gaussian density
    would be wrong there (the file then has no ``infos/action_log_probs``).
    """

    def __init__(self, actor: torch.nn.Module, noise_std: float) -> None:
        self.actor = actor.eval()
        self.noise_std = float(noise_std)

    def act(self, observation: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float | None]:
        with torch.no_grad():
            action = self.actor(torch.as_tensor(observation, dtype=torch.float32)).numpy()
        if self.noise_std > 0:
            action = np.clip(action + rng.normal(0.0, self.noise_std, size=action.shape), -1.0, 1.0)
        return action, None


def policy_settings(spec: MediumSpec, seed: int) -> dict:
    """Everything that determines the trained policy: what its cache key hashes."""
    return {
        "env_id": spec.env_id,
        "seed": int(seed),
        "target_return": float(spec.target_return),
        "max_train_steps": int(spec.max_train_steps),
        "td3": spec.config.to_dict(),
    }


def policy_cache_path(spec: MediumSpec, seed: int) -> Path:
    settings = policy_settings(spec, seed)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return rlkit_data_dir() / "policies" / f"td3-{spec.env_id}-seed{seed}-{digest}.pt"


def train_or_load_policy(spec: MediumSpec, seed: int, progress: bool = True) -> tuple[MLP, dict]:
    """The cached actor for (spec, seed), or a newly trained and cached one; also its training record."""
    path = policy_cache_path(spec, seed)
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("settings") != policy_settings(spec, seed):
            raise ValueError(f"{path}: cached policy was trained with settings {saved.get('settings')}; expected "
                             f"{policy_settings(spec, seed)} (delete the file to retrain)")
        actor = MLP(saved["state_dim"], saved["act_dim"], spec.config.hidden_sizes, output_activation=torch.nn.Tanh)
        actor.load_state_dict(saved["actor"])
        return actor, {**saved["training"], "policy_cache": str(path), "policy_from_cache": True}
    result = train_td3_online(spec.env_id, seed=seed, max_steps=spec.max_train_steps,
                              target_return=spec.target_return, config=spec.config, progress=progress)
    training = {
        "policy_training_steps": result.env_steps,
        "policy_updates": result.updates,
        "policy_eval_return": result.eval_return,
        "target_return": float(spec.target_return),
        "target_reached": bool(result.target_reached),
        "policy_training_seconds": round(result.wall_time_s, 1),
        "learning_curve": [[float(step), float(ret)] for step, ret in result.curve],
    }
    with atomic_path(path) as temporary:
        torch.save({"settings": policy_settings(spec, seed), "state_dim": result.agent.state_dim,
                    "act_dim": result.agent.act_dim, "actor": result.agent.actor.state_dict(),
                    "training": training}, temporary)
    return result.agent.actor, {**training, "policy_cache": str(path), "policy_from_cache": False}


def _completed_episode_returns(td: TensorDict) -> np.ndarray:
    """Returns of the episodes that ended (terminated or timed out) inside the dataset."""
    rewards = td[K.REWARD].reshape(-1).double()
    ends = (td[K.TERMINATED] | td[K.TRUNCATED]).reshape(-1)
    episode = td[K.EPISODE]
    totals = torch.zeros(int(episode.max()) + 1, dtype=torch.float64).index_add_(0, episode, rewards)
    finished = torch.unique(episode[ends])
    return totals[finished].numpy()


def generate_medium(short: str, steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
    """Train (or load) the medium policy of env ``short`` and roll it out for ``steps`` transitions."""
    import gymnasium as gym

    spec = SPECS[short]
    space = gym.make(spec.env_id).action_space
    if not (np.all(space.low == -1.0) and np.all(space.high == 1.0)):
        raise ValueError(f"{short}-medium-v2: {spec.env_id}'s action box is [{space.low}, {space.high}]; the TD3 "
                         "actor's tanh output and the roll-out assume [-1, 1]")
    actor, training = train_or_load_policy(spec, seed, progress=progress)
    if not training["target_reached"]:
        warnings.warn(
            f"{short}-medium-v2: TD3 stopped at its budget of {spec.max_train_steps} env steps with evaluation return "
            f"{training['policy_eval_return']:.1f}, below the medium target {spec.target_return:.1f}; the dataset is "
            "built from this weaker policy and its metadata says target_reached=False",
            stacklevel=2,
        )
    td = rollout_dataset(spec.env_id, NoisyActorPolicy(actor, ROLLOUT_ACTION_NOISE), steps, seed,
                         max_episode_steps=MAX_EPISODE_STEPS, progress=progress)
    returns = _completed_episode_returns(td)
    metadata = {
        "algorithm": "TD3 (rlkit), early-stopped at a medium return",
        "env_id": spec.env_id,
        "layout": "mujoco",
        "max_episode_steps": MAX_EPISODE_STEPS,
        "rollout_action_noise": ROLLOUT_ACTION_NOISE,
        "dataset_episodes_completed": int(returns.size),
        "dataset_return_mean": float(returns.mean()) if returns.size else float("nan"),
        "td3": spec.config.to_dict(),
        **training,
    }
    return td, metadata


def _register(short: str) -> None:
    name = f"{short}-medium-v2"

    def build(steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
        return generate_medium(short, steps, seed, progress=progress)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    spec = SPECS[short]
    register_dataset(
        name,
        default_steps=DEFAULT_STEPS,
        description=f"TD3 actor trained in {spec.env_id} to eval return {spec.target_return:g} (or "
        f"{spec.max_train_steps} env steps), rolled out with N(0, {ROLLOUT_ACTION_NOISE}) action noise",
    )(build)


for _short in SPECS:
    _register(_short)
