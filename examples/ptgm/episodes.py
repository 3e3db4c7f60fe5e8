"""Episode bookkeeping shared by the high-level (PTGM) and flat (SAC) loops: evaluation and the run summary.

Both loops count *env* steps (a high-level step of PTGM is up to k of them), so curves of different methods share
one x axis and one budget. An episode succeeds when any step's ``info["success"]`` is true.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.utils.atomic import atomic_write_text


def run_episodes(act: Callable[[np.ndarray], Any], env: gym.Env, episodes: int, seed: int,
                 steps_of: Callable[[dict], int] = lambda info: 1) -> dict[str, float]:
    """Roll ``act`` out for ``episodes`` episodes (reset seeds seed, seed+1, ...): success rate, mean return and
    mean env steps (``steps_of(info)`` env steps per step of ``env``)."""
    successes, returns, lengths = [], [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done, total, success, length = False, 0.0, False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs))
            total += float(reward)
            length += steps_of(info)
            success = success or bool(info.get("success", False))
            done = terminated or truncated
        successes.append(success)
        returns.append(total)
        lengths.append(length)
    return {"success_rate": float(np.mean(successes)), "return": float(np.mean(returns)),
            "episode_steps": float(np.mean(lengths))}


class RunSummary:
    """Evaluations and training episodes of one run; :meth:`write` puts them in ``summary.json``."""

    def __init__(self, **identity: Any) -> None:
        self.identity = identity
        self.evals: list[dict[str, float]] = []
        self.first_success_step: int | None = None  # env steps when a training episode first reached the goal
        self.train_episodes = 0
        self.train_successes = 0

    def episode_done(self, success: bool, env_steps: int) -> None:
        self.train_episodes += 1
        self.train_successes += int(success)
        if success and self.first_success_step is None:
            self.first_success_step = env_steps

    def evaluated(self, env_steps: int, result: dict[str, float]) -> None:
        self.evals.append({"env_steps": env_steps, **result})

    def as_dict(self) -> dict[str, Any]:
        return {**self.identity, "evals": self.evals, "first_success_step": self.first_success_step,
                "train_episodes": self.train_episodes, "train_successes": self.train_successes,
                "final_success_rate": self.evals[-1]["success_rate"] if self.evals else None}

    def write(self, run_dir: str | Path) -> dict[str, Any]:
        summary = self.as_dict()
        atomic_write_text(Path(run_dir) / "summary.json", json.dumps(summary, indent=1))
        return summary
