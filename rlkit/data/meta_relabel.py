"""BOReL's two fixes for MDP ambiguity in offline meta-RL data: reward relabelling and policy replaying.

When each task's data come from that task's own agent, the belief VAE can tell tasks apart by *behaviour* (where
the agent goes) instead of by rewards, and its beliefs fail on a new task. Both transforms make every task's
trajectories contain behaviour of other tasks' agents (the VAE's data; with RR also the agent's, as the original):

* ``reward_relabel`` (RR): for each task i, trajectories are drawn with replacement from i's data; in each, the
  first half of the episodes (episode 1 of 2; episodes 1 and 2 of 4 in the grid) are each replaced by the same
  episode of a trajectory of another task j, and their rewards recomputed with task i's TRUE reward
  (``family.reward``). The original computed those with a separate ``env.reward`` that disagreed with ``step`` in
  three envs (its bugs 1-3); ``original_semicircle_reward`` reproduces its semicircle one (bug 1) if needed.
* ``policy_replay`` (PR, the anonymous repository's variant): the replaced episodes are new rollouts of task j's
  policy in task i's env, so they also carry task i's dynamics (wind), which RR cannot fake.

Both return a TensorDict of batch [T, B] (task, trajectory) with the keys of ``task_folders.TRAJECTORY_KEYS``,
plus ``source_task`` (T, B, E) (which task's data or policy filled each episode) and ``replaced`` (T, B, E);
``reward_relabel`` also gives ``source_trajectory`` (T, B, E), the stored trajectory of ``source_task`` each episode
was copied from (so per-trajectory quantities, such as the original's beliefs, can follow the episodes).
``MetaDataset.from_trajectories(list(out.unbind(0)), ...)`` makes a dataset of it again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data.errors import DatasetError
from rlkit.data.task_folders import (
    T_ACTION,
    T_DONE,
    T_GOAL_REACHED,
    T_NEXT_OBS,
    T_OBS,
    T_REWARD,
    T_TASK,
    T_TERMINATED,
    MetaDataset,
)

RewardFn = Callable[[Any, Any, Any, Any], Any]
Policy = Callable[[torch.Tensor], Any]
SOURCE_TASK, SOURCE_TRAJECTORY, REPLACED = "source_task", "source_trajectory", "replaced"
_STEP_KEYS = (T_OBS, T_ACTION, T_REWARD, T_NEXT_OBS, T_DONE, T_TERMINATED, T_GOAL_REACHED)


def original_semicircle_reward(task: torch.Tensor, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor,
                               goal_radius: float = 0.2) -> torch.Tensor:
    """The original's semicircle relabelling reward (bug 1): -distance within ``goal_radius`` of the goal, else 0."""
    distance = torch.linalg.vector_norm(next_obs[..., :2] - task[..., :2], dim=-1)
    return torch.where(distance <= goal_radius, -distance, torch.zeros_like(distance))


def replaced_episodes(episodes_per_task: int) -> list[int]:
    """The episodes RR replaces: the first half (episode 0 of 2; 0 and 1 of 4), as the original."""
    if episodes_per_task < 2:
        raise DatasetError(f"relabelling needs meta-episodes of >= 2 episodes; got {episodes_per_task}")
    return list(range(episodes_per_task // 2))


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def _uniform_index(counts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One uniform index in [0, counts) per element (counts any shape, >= 1)."""
    u = torch.rand(counts.shape, generator=generator, dtype=torch.float64)
    return torch.minimum((u * counts).long(), counts - 1)


def _other_tasks(targets: torch.Tensor, num_tasks: int, generator: torch.Generator) -> torch.Tensor:
    """A uniform task different from each target (vectorised: draw from T-1 and skip the target)."""
    donor = torch.randint(0, num_tasks - 1, targets.shape, generator=generator)
    return donor + (donor >= targets).long()


def _reward_action(family: Any, action: torch.Tensor) -> torch.Tensor:
    """Stored one-hot actions of a discrete family as indices (…, 1), which the family's ``reward`` expects."""
    num_actions = getattr(family, "num_actions", None)
    if num_actions and action.shape[-1] == num_actions:
        return action.argmax(-1, keepdim=True).to(action.dtype)
    return action


class _Plan:
    """The random choices shared by both transforms: base trajectories, donor tasks and which episodes change."""

    def __init__(self, dataset: MetaDataset, num_trajectories: int | None, fraction: float,
                 episodes: Sequence[int] | None, generator: torch.Generator) -> None:
        num_tasks = len(dataset)
        if num_tasks < 2:
            raise DatasetError(f"relabelling needs data of >= 2 tasks; got {num_tasks}")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction={fraction}; expected a probability in [0, 1]")
        self.episodes = replaced_episodes(dataset.episodes_per_task) if episodes is None else list(episodes)
        bad = [e for e in self.episodes if not 0 <= e < dataset.episodes_per_task]
        if bad:
            raise ValueError(f"episodes {bad} do not exist in meta-episodes of {dataset.episodes_per_task} episodes")
        counts = torch.tensor(dataset.num_trajectories(), dtype=torch.int64)
        b = int(counts.min()) if num_trajectories is None else int(num_trajectories)
        targets = torch.arange(num_tasks).unsqueeze(1).expand(num_tasks, b)
        self.base = _uniform_index(counts[targets], generator)  # (T, B): a trajectory of the target task
        r = len(self.episodes)
        self.donor_task = _other_tasks(targets.unsqueeze(-1).expand(num_tasks, b, r), num_tasks, generator)
        self.donor = _uniform_index(counts[self.donor_task], generator)  # (T, B, R): a trajectory of the donor
        self.replace = torch.rand((num_tasks, b, r), generator=generator) < fraction  # (T, B, R)
        self.shape = (num_tasks, b)

    def source_task(self, episodes_per_task: int) -> torch.Tensor:
        """(T, B, E): the task whose data (or policy) fills each episode."""
        t, b = self.shape
        source = torch.arange(t).view(t, 1, 1).expand(t, b, episodes_per_task).clone()
        for k, e in enumerate(self.episodes):
            source[:, :, e] = torch.where(self.replace[:, :, k], self.donor_task[:, :, k], source[:, :, e])
        return source

    def replaced(self, episodes_per_task: int) -> torch.Tensor:
        out = torch.zeros((*self.shape, episodes_per_task), dtype=torch.bool)
        out[:, :, self.episodes] = self.replace
        return out


def _gather(dataset: MetaDataset, tasks: torch.Tensor, trajectories: torch.Tensor) -> TensorDict:
    """Episode e of trajectory ``trajectories[t, b, e]`` of task ``tasks[t, b, e]``, every key: (T, B, H, ...).

    Sources are chosen per episode, so the gather copies whole episodes: one masked gather per source task and key
    over the (T, B, E) choices, and no copy of the whole dataset.
    """
    t, b, e = tasks.shape
    length = dataset.episode_length
    episode = torch.arange(e).expand_as(tasks)
    first = dataset.trajectories(0)
    out = {key: first.get(key).new_empty((t, b, e, length, *first.get(key).shape[2:])) for key in _STEP_KEYS}
    for j in tasks.unique().tolist():
        mask = tasks == j
        source = dataset.trajectories(j)
        for key in _STEP_KEYS:
            value = source.get(key)
            episodes = value.reshape(value.shape[0], e, length, *value.shape[2:])
            out[key][mask] = episodes[trajectories[mask], episode[mask]]
    return TensorDict({key: v.reshape(t, b, e * length, *v.shape[4:]) for key, v in out.items()}, batch_size=[t, b])


def _step_mask(replaced: torch.Tensor, episode_length: int) -> torch.Tensor:
    """(T, B, E) episode flags as (T, B, H, 1) step flags."""
    return replaced.repeat_interleave(episode_length, dim=-1).unsqueeze(-1)


def reward_relabel(
    dataset: MetaDataset,
    family: Any,
    *,
    num_trajectories: int | None = None,
    fraction: float = 1.0,
    episodes: Sequence[int] | None = None,
    seed: int | torch.Generator = 0,
    reward_fn: RewardFn | None = None,
    original_semicircle: bool = False,
) -> TensorDict:
    """Reward relabelling: every task gets ``num_trajectories`` trajectories (default: the fewest any task has).

    ``episodes`` (default: the first half) are each replaced, with probability ``fraction``, by that episode of a
    uniformly drawn trajectory of a uniformly drawn other task, its rewards set to ``reward_fn`` (default
    ``family.reward``) of the target task and ``goal_reached`` to ``family.success``. The original mixed in place,
    picking trajectories with replacement, so about a third stayed unmixed even at fraction 1; here each output
    trajectory is mixed with probability ``fraction``. ``original_semicircle``: use the original's bug-1 reward.
    """
    generator = _generator(seed)
    plan = _Plan(dataset, num_trajectories, fraction, episodes, generator)
    t, b = plan.shape
    horizon, length = dataset.horizon, dataset.episode_length
    episodes_per_task = dataset.episodes_per_task
    source_task = plan.source_task(episodes_per_task)
    source_row = plan.base.unsqueeze(-1).expand(t, b, episodes_per_task).clone()
    for k, e in enumerate(plan.episodes):
        source_row[:, :, e] = torch.where(plan.replace[:, :, k], plan.donor[:, :, k], plan.base)
    out = _gather(dataset, source_task, source_row)
    replaced = plan.replaced(dataset.episodes_per_task)
    spliced = _step_mask(replaced, length)
    task = dataset.tasks.view(t, 1, -1).expand(t, b, -1)
    step_task = task.unsqueeze(2).expand(t, b, horizon, -1)
    obs, next_obs = out.get(T_OBS), out.get(T_NEXT_OBS)
    action = _reward_action(family, out.get(T_ACTION))
    if original_semicircle:
        reward_fn = functools.partial(original_semicircle_reward, goal_radius=getattr(family, "goal_radius", 0.2))
    reward = torch.as_tensor((reward_fn or family.reward)(step_task, obs, action, next_obs), dtype=torch.float32)
    out.set(T_REWARD, torch.where(spliced, reward.reshape(t, b, horizon, 1), out.get(T_REWARD)))
    if getattr(family, "has_success", True) and hasattr(family, "success"):
        hit = torch.as_tensor(family.success(step_task, next_obs)).reshape(t, b, horizon, 1)
    else:
        hit = torch.zeros_like(spliced)
    out.set(T_GOAL_REACHED, torch.where(spliced, hit, out.get(T_GOAL_REACHED)))
    out.set(T_TASK, task.clone())
    out.set(SOURCE_TASK, source_task)
    out.set(SOURCE_TRAJECTORY, source_row)
    out.set(REPLACED, replaced)
    return out


# ------------------------------------------------------------------------------------------------ policy replaying
def _env_action(action: Any, discrete: bool) -> torch.Tensor:
    action = torch.as_tensor(action)
    if discrete:
        return action.reshape(-1).long()
    return action.reshape(action.shape[0], -1).float()


def _rollout_episodes(
    family: Any,
    task: np.ndarray,
    donors: torch.Tensor,
    policies: Sequence[Policy],
    episode_length: int,
    seeds: torch.Tensor,
    env_kwargs: dict,
) -> dict[str, torch.Tensor]:
    """One episode per donor, all in lockstep in copies of task ``task``'s env: (K, L, ...) tensors.

    The policy of each distinct donor is called once per step on the batch of its rows.
    """
    k = donors.numel()
    envs = [family.make_env(task, **env_kwargs) for _ in range(k)]
    discrete = hasattr(envs[0].action_space, "n")
    obs = torch.stack([torch.as_tensor(env.reset(seed=int(s))[0], dtype=torch.float32) for env, s in zip(envs, seeds)])
    steps: dict[str, list[torch.Tensor]] = {T_OBS: [], T_ACTION: [], T_REWARD: [], T_NEXT_OBS: []}
    groups = [(int(j), (donors == j).nonzero().reshape(-1)) for j in donors.unique()]
    for t in range(episode_length):
        actions: list[torch.Tensor | None] = [None] * k
        for j, rows in groups:
            chosen = _env_action(policies[j](obs[rows]), discrete)
            for row, a in zip(rows.tolist(), chosen):
                actions[row] = a
        results = [env.step(a.item() if discrete else a.numpy()) for env, a in zip(envs, actions)]
        if t < episode_length - 1 and any(r[2] or r[3] for r in results):
            raise DatasetError(f"{family!r}: the env ended an episode after {t + 1} steps; expected {episode_length}")
        next_obs = torch.stack([torch.as_tensor(r[0], dtype=torch.float32) for r in results])
        action_tensor = torch.stack(actions)
        if discrete:
            action_tensor = torch.nn.functional.one_hot(action_tensor, envs[0].action_space.n).float()
        steps[T_OBS].append(obs)
        steps[T_ACTION].append(action_tensor)
        steps[T_REWARD].append(torch.tensor([[float(r[1])] for r in results]))
        steps[T_NEXT_OBS].append(next_obs)
        obs = next_obs
    for env in envs:
        env.close()
    return {key: torch.stack(value, 1) for key, value in steps.items()}


def policy_replay(
    dataset: MetaDataset,
    family: Any,
    policies: Sequence[Policy],
    *,
    num_trajectories: int | None = None,
    fraction: float = 1.0,
    episodes: Sequence[int] | None = None,
    seed: int | torch.Generator = 0,
    env_kwargs: dict | None = None,
) -> TensorDict:
    """Policy replaying: like ``reward_relabel``, but each replaced episode is a new rollout of the donor task's
    policy ``policies[j]`` in the target task's env (``family.make_env(task_i, **env_kwargs)``), with the env's
    rewards. A policy maps a batch of observations (n, obs_dim) to actions (n, action_dim), or to indices (n,)
    for discrete actions (stored one-hot).
    """
    if len(policies) != len(dataset):
        raise ValueError(f"{len(policies)} policies for {len(dataset)} tasks; expected one policy per task")
    generator = _generator(seed)
    plan = _Plan(dataset, num_trajectories, fraction, episodes, generator)
    t, b = plan.shape
    length = dataset.episode_length
    episodes_per_task = dataset.episodes_per_task
    own = torch.arange(t).view(t, 1, 1).expand(t, b, episodes_per_task)
    out = _gather(dataset, own, plan.base.unsqueeze(-1).expand(t, b, episodes_per_task))
    env_seeds = torch.randint(0, 2**31 - 1, (t, b, len(plan.episodes)), generator=generator)
    for i in range(t):
        batch, slot = plan.replace[i].nonzero(as_tuple=True)
        if batch.numel() == 0:
            continue
        task = dataset.tasks[i].double().numpy()
        rollout = _rollout_episodes(
            family, task, plan.donor_task[i, batch, slot], policies, length, env_seeds[i, batch, slot], env_kwargs or {}
        )
        steps = torch.tensor(plan.episodes)[slot].unsqueeze(1) * length + torch.arange(length)  # (K, L)
        for key, value in rollout.items():
            out.get(key)[i, batch.unsqueeze(1), steps] = value.to(out.get(key).dtype)
        if getattr(family, "has_success", True) and hasattr(family, "success"):
            hit = torch.as_tensor(family.success(torch.from_numpy(task).float(), rollout[T_NEXT_OBS]))
        else:
            hit = torch.zeros(rollout[T_NEXT_OBS].shape[:2], dtype=torch.bool)
        out.get(T_GOAL_REACHED)[i, batch.unsqueeze(1), steps] = hit.reshape(-1, length, 1)
        out.get(T_TERMINATED)[i, batch.unsqueeze(1), steps] = False
    out.set(T_TASK, dataset.tasks.view(t, 1, -1).expand(t, b, -1).clone())
    out.set(SOURCE_TASK, plan.source_task(dataset.episodes_per_task))
    out.set(REPLACED, plan.replaced(dataset.episodes_per_task))
    return out
