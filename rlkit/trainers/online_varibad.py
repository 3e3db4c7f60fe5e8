"""BOReL's online variant: off-policy VariBAD, an agent on hyper-states with the belief VAE trained alongside.

Each iteration collects meta-episodes in training tasks with the current belief agent (SAC samples its actions; DQN
is epsilon-greedy), stores them whole per task, then takes VAE steps on stored trajectories (tasks x trajectories, the
ELBO of ``rlkit.objectives.elbo``) and agent steps on hyper-states recomputed with the current encoder, frozen
(``torch.no_grad``: no RL gradient reaches the VAE, as the original). The loop is deliberately small; the examples'
``online_training.py`` wires it to BOReL's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.agents.belief_agent import BeliefAgent, MetaEpisodeResults, evaluate_meta_episodes
from rlkit.agents.hyper_state_rl import TaskTransitions, hyper_state_transitions
from rlkit.data.task_folders import (
    T_ACTION,
    T_DONE,
    T_GOAL_REACHED,
    T_NEXT_OBS,
    T_OBS,
    T_REWARD,
    T_TASK,
    T_TERMINATED,
)
from rlkit.objectives.elbo import BeliefELBOLoss
from rlkit.trainers.guards import check_finite


def elbo_step(elbo: BeliefELBOLoss, optimizer: torch.optim.Optimizer, batch: TensorDict, step: int) -> dict[str, float]:
    """One ELBO step on trajectories (B, H, ...) with ``task_folders``' trajectory keys; the terms as floats."""
    terms = elbo.loss_terms(batch.get(T_OBS).float(), batch.get(T_ACTION).float(), batch.get(T_REWARD).float(),
                            batch.get(T_NEXT_OBS).float())
    check_finite(terms, step)
    loss = sum(value for key, value in terms.items() if key.startswith("loss_"))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return {key: float(value.detach()) for key, value in terms.items()}


def results_to_trajectories(results: MetaEpisodeResults, episode_length: int) -> TensorDict:
    """Collected meta-episodes as trajectories (T, S, ...) in ``task_folders``' layout (goal hits not terminal)."""
    n, steps = results.rewards.shape
    done = np.zeros((n, steps, 1), dtype=bool)
    done[:, episode_length - 1 :: episode_length] = True
    as_float = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)
    return TensorDict({
        T_OBS: as_float(results.acted_observations), T_ACTION: as_float(results.actions),
        T_REWARD: as_float(results.rewards[..., None]), T_NEXT_OBS: as_float(results.observations[:, 1:]),
        T_DONE: torch.as_tensor(done), T_TERMINATED: torch.zeros(n, steps, 1, dtype=torch.bool),
        T_GOAL_REACHED: torch.as_tensor(results.successes_per_step[..., None]), T_TASK: as_float(results.tasks),
    }, batch_size=[n])


class EpsilonGreedy:
    """A DQN's ``act`` with epsilon exploration whenever the caller asks for a stochastic action."""

    def __init__(self, dqn: Any, epsilon: float) -> None:
        self.dqn, self.epsilon = dqn, epsilon

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        return self.dqn.act(obs, deterministic, epsilon=self.epsilon)


class UniformPolicy:
    """Uniform random actions (the first rollouts): indices for ``num_actions``, else [-1, 1]^action_dim."""

    def __init__(self, num_actions: int | None, action_dim: int, generator: torch.Generator) -> None:
        self.num_actions, self.action_dim, self.generator = num_actions, action_dim, generator

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        if self.num_actions:
            return torch.randint(self.num_actions, (obs.shape[0],), generator=self.generator)
        return torch.rand(obs.shape[0], self.action_dim, generator=self.generator) * 2 - 1


class OnlineVariBAD:
    """Collect, train the VAE, train the agent; repeat. See the module docstring.

    Args:
        family: the task family (``make_env``, ``num_actions``, ``action_dim``, ``max_episode_steps``).
        train_tasks: (T, task_dim) tasks to collect in. episodes_per_task: episodes per meta-episode.
        elbo: the VAE's loss (its ``encoder`` is the agent's). agent: OfflineSAC / OfflineDQN on hyper-states.
        vae_lr, vae_tasks_batch, vae_trajs_per_task: the VAE's optimiser and batch (tasks x trajectories).
        meta_batch, batch_size: the agent's batch (tasks x transitions). epsilon: DQN exploration.
        buffer_size: meta-episodes kept per task (oldest dropped). seed: collection and sampling.
    """

    def __init__(
        self,
        family: Any,
        train_tasks: np.ndarray,
        episodes_per_task: int,
        elbo: BeliefELBOLoss,
        agent: Any,
        *,
        vae_lr: float = 3e-4,
        vae_tasks_batch: int = 8,
        vae_trajs_per_task: int = 8,
        meta_batch: int = 16,
        batch_size: int = 256,
        epsilon: float = 0.1,
        buffer_size: int = 1000,
        seed: int = 0,
    ) -> None:
        self.family, self.episodes_per_task, self.elbo, self.agent = family, episodes_per_task, elbo, agent
        self.train_tasks = np.asarray(train_tasks, dtype=np.float64).reshape(len(train_tasks), -1)
        self.vae_optim = torch.optim.Adam(elbo.parameters(), lr=vae_lr)
        self.vae_batch = (vae_tasks_batch, vae_trajs_per_task)
        self.rl_batch = (meta_batch, batch_size)
        self.buffer_size, self.seed = buffer_size, seed
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        policy = EpsilonGreedy(agent, epsilon) if family.num_actions else agent
        self.belief_agent = BeliefAgent(elbo.encoder, policy, family.num_actions)
        self.random_agent = BeliefAgent(elbo.encoder, UniformPolicy(family.num_actions, family.action_dim,
                                                                    self.generator), family.num_actions)
        self.buffer: list[TensorDict | None] = [None] * len(self.train_tasks)
        self.steps = {"vae": 0, "rl": 0, "collected": 0}

    def collect(self, num_meta_episodes: int, random: bool = False) -> dict[str, list[float]]:
        """``num_meta_episodes`` meta-episodes, each in a uniformly drawn training task, added to the buffer."""
        chosen = self.rng.integers(len(self.train_tasks), size=num_meta_episodes)
        agent = self.random_agent if random else self.belief_agent
        results = evaluate_meta_episodes(agent, self.family, self.train_tasks[chosen], self.episodes_per_task,
                                         deterministic=False, seed=int(self.rng.integers(2**31 - 1)))
        trajectories = results_to_trajectories(results, self.family.max_episode_steps)
        for index in np.unique(chosen):
            new = trajectories[torch.as_tensor(chosen == index)]
            old = self.buffer[index]
            merged = new if old is None else torch.cat([old, new], 0)
            self.buffer[index] = merged[-self.buffer_size:]
        self.steps["collected"] += results.rewards.size
        return results.summary()

    def _filled(self) -> list[TensorDict]:
        filled = [td for td in self.buffer if td is not None]
        if not filled:
            raise RuntimeError("OnlineVariBAD: the buffer is empty; collect() first")
        return filled

    def train_vae(self, updates: int) -> dict[str, float]:
        pool = TaskTransitions.from_tasks(self._filled())
        metrics: dict[str, float] = {}
        for _ in range(updates):
            metrics = elbo_step(self.elbo, self.vae_optim, pool.sample(*self.vae_batch, self.generator),
                                self.steps["vae"])
            self.steps["vae"] += 1
        return metrics

    def train_agent(self, updates: int) -> dict[str, float]:
        transitions = hyper_state_transitions(self.elbo.encoder, self._filled())  # no_grad inside: frozen belief
        metrics: dict[str, torch.Tensor] = {}
        for _ in range(updates):
            metrics = self.agent.update(transitions.sample(*self.rl_batch, self.generator))
            self.steps["rl"] += 1
        check_finite(metrics, self.steps["rl"])
        return {key: float(value) for key, value in metrics.items()}

    def train(
        self,
        iterations: int,
        *,
        rollouts_per_iteration: int,
        vae_updates: int,
        rl_updates: int,
        init_rollouts: int = 0,
        on_iteration: Callable[[int, dict[str, Any]], Any] | None = None,
    ) -> None:
        """``init_rollouts`` random meta-episodes, then ``iterations`` of collect / VAE / agent."""
        if init_rollouts:
            self.collect(init_rollouts, random=True)
        for iteration in range(iterations):
            collected = self.collect(rollouts_per_iteration)
            row = {**{f"vae_{k}": v for k, v in self.train_vae(vae_updates).items()},
                   **self.train_agent(rl_updates), "collect_success": collected["success"], **self.steps}
            if on_iteration is not None:
                on_iteration(iteration, row)

    def evaluate(self, tasks: Sequence[Any] | np.ndarray, seed: int = 0) -> MetaEpisodeResults:
        """Deterministic meta-episodes in ``tasks`` (held-out ones)."""
        return evaluate_meta_episodes(self.belief_agent, self.family, tasks, self.episodes_per_task, seed=seed)
