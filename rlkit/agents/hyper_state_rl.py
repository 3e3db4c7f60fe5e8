"""Offline meta-RL on hyper-states (BOReL): relabel stored meta-episodes with a frozen belief, then train SAC/DQN.

Pipeline: per-task trajectories (``rlkit.data.task_folders.to_trajectories`` layout, (B, H, ...) whole
meta-episodes) -> :func:`hyper_state_transitions` runs the frozen encoder along each (``rlkit.data.hyper_states``) and
keeps the transitions per task -> :class:`TaskTransitions.sample` draws each update's batch as BOReL does:
``meta_batch`` distinct tasks (the original drew them with replacement, bug 5) x ``batch_size`` transitions each ->
the agent's ``update`` (:class:`rlkit.agents.offline_sac.OfflineSAC` or :class:`rlkit.agents.offline_dqn.OfflineDQN`).

Goal hits are not terminals (bug 4): ``terminated`` comes from the trajectories' ``terminated`` entry (False for BOReL
data), and time-limit ends never cut bootstrapping. ``goal_hits_as_terminals=True`` reproduces the original.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from tensordict import TensorDict
from torch import nn

from rlkit.data.errors import DatasetError
from rlkit.data.hyper_states import HyperStates, relabel_stored_trajectories, stored_terminals
from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.data.task_folders import T_ACTION, T_NEXT_OBS, T_OBS, T_REWARD
from rlkit.trainers.guards import check_finite


class HyperStateAgent(Protocol):
    """What the loop needs of an agent: a gradient step on a batch, and actions for (hyper-)states."""

    def update(self, batch: TensorDict) -> dict[str, torch.Tensor]: ...

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor: ...


@dataclass
class TaskTransitions:
    """The transitions of every task, concatenated (rows of task i are ``offsets[i]:offsets[i+1]``).

    ``data`` holds rlkit's keys (observation, action, ("next", "reward"), ("next", "observation"),
    ("next", "terminated")) with batch size [N].
    """

    data: TensorDict
    offsets: torch.Tensor

    @property
    def num_tasks(self) -> int:
        return self.offsets.numel() - 1

    @property
    def counts(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    @classmethod
    def from_tasks(cls, per_task: Sequence[TensorDict]) -> TaskTransitions:
        """Concatenate per-task TensorDicts of batch [N_i] (same keys and per-row shapes)."""
        if not per_task:
            raise DatasetError("TaskTransitions: no tasks; expected at least one")
        counts = torch.tensor([td.batch_size[0] for td in per_task])
        if (counts == 0).any():
            raise DatasetError(f"TaskTransitions: task {int((counts == 0).nonzero()[0])} has no transitions")
        offsets = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])
        return cls(torch.cat(list(per_task), 0), offsets)

    def sample(self, meta_batch: int, batch_size: int, generator: torch.Generator | None = None) -> TensorDict:
        """``min(meta_batch, num_tasks)`` distinct tasks x ``batch_size`` transitions each (with replacement within a
        task): a TensorDict of batch [tasks * batch_size], tasks in blocks, plus ``"task_index"``."""
        if meta_batch < 1 or batch_size < 1:
            raise ValueError(f"meta_batch={meta_batch}, batch_size={batch_size}; expected positive ints")
        tasks = torch.randperm(self.num_tasks, generator=generator)[: min(meta_batch, self.num_tasks)]
        u = torch.rand(tasks.numel(), batch_size, generator=generator, dtype=torch.float64)
        counts = self.counts[tasks].unsqueeze(1)
        rows = self.offsets[tasks].unsqueeze(1) + torch.minimum((u * counts).long(), counts - 1)
        batch = self.data[rows.reshape(-1)]
        batch.set("task_index", tasks.repeat_interleave(batch_size))
        return batch


def hyper_state_transitions(
    encoder: nn.Module,
    trajectories: Sequence[TensorDict],
    *,
    goal_hits_as_terminals: bool = False,
    chunk_size: int = 4096,
    states: Sequence[HyperStates] | None = None,
) -> TaskTransitions:
    """Relabel every task's trajectories with the frozen ``encoder`` and flatten them into :class:`TaskTransitions`.

    trajectories: one TensorDict per task, batch [B_i], entries (B_i, H, ...) with the keys of
    ``rlkit.data.task_folders.TRAJECTORY_KEYS`` (whole meta-episodes from their first step).
    goal_hits_as_terminals: the original's bug 4 (goal hits stop bootstrapping and reset the belief).
    states: hyper-states computed elsewhere, one (B_i, H, D) pair per task (e.g.
    ``rlkit.data.own_belief_hyper_states``); then the encoder is not run.
    """
    if states is not None and len(states) != len(trajectories):
        raise ValueError(f"{len(states)} hyper-state sets for {len(trajectories)} tasks; expected one per task")
    per_task = []
    reference: dict[str, tuple[int, ...]] = {}
    for index, traj in enumerate(trajectories):
        for key in (T_OBS, T_ACTION, T_NEXT_OBS):
            shape = tuple(traj.get(key).shape[2:])
            if reference.setdefault(key, shape) != shape:
                raise DatasetError(f"task {index}: {key!r} has per-step shape {shape}; expected {reference[key]} as "
                                   "task 0 (all tasks must agree)")
        obs, action, reward = (traj.get(k).float() for k in (T_OBS, T_ACTION, T_REWARD))
        terminated = stored_terminals(traj, goal_hits_as_terminals)
        if states is None:
            hyper = relabel_stored_trajectories(encoder, traj, goal_hits_as_terminals=goal_hits_as_terminals,
                                                chunk_size=chunk_size)
        else:
            hyper = states[index]
            if hyper.obs.shape[:2] != obs.shape[:2] or hyper.next_obs.shape != hyper.obs.shape:
                raise DatasetError(f"task {index}: given hyper-states of shape {tuple(hyper.obs.shape)} / "
                                   f"{tuple(hyper.next_obs.shape)}; expected ({obs.shape[0]}, {obs.shape[1]}, D) both")
        flat = lambda x: x.reshape(-1, *x.shape[2:])
        per_task.append(TensorDict({
            OBS: flat(hyper.obs), ACTION: flat(action), REWARD: flat(reward),
            NEXT_OBS: flat(hyper.next_obs), TERMINATED: flat(terminated.reshape(*reward.shape)),
        }, batch_size=[obs.shape[0] * obs.shape[1]]))
    return TaskTransitions.from_tasks(per_task)


def train_hyper_state_agent(
    agent: HyperStateAgent,
    transitions: TaskTransitions,
    *,
    iterations: int,
    updates_per_iteration: int,
    meta_batch: int = 16,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    on_iteration: Callable[[int, dict[str, float]], Any] | None = None,
    lr_schedule: str = "constant",
) -> dict[str, float]:
    """BOReL's offline loop: ``iterations`` x ``updates_per_iteration`` updates on task x transition batches.

    ``on_iteration(iteration, mean_metrics)`` is called after each iteration (logging, evaluation, checkpoints).
    ``lr_schedule="cosine"`` anneals every optimiser the agent holds as an attribute from its learning rate to 0 over
    the run (the original keeps it constant); on the small semi-circle it did worse than constant
    (benchmarks/results/borel_agent_data.md).
    Returns the last iteration's mean metrics.
    """
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine'; got {lr_schedule!r}")
    total = max(iterations * updates_per_iteration, 1)
    cosine = lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))  # noqa: E731
    optimizers = [value for value in vars(agent).values() if isinstance(value, torch.optim.Optimizer)]
    if lr_schedule == "cosine" and not optimizers:
        raise ValueError(f"lr_schedule='cosine': {type(agent).__name__} holds no torch.optim.Optimizer attribute")
    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, cosine) for o in optimizers] if lr_schedule == "cosine" else []
    summary: dict[str, float] = {}
    for iteration in range(iterations):
        totals: dict[str, torch.Tensor] = {}
        for _ in range(updates_per_iteration):
            metrics = agent.update(transitions.sample(meta_batch, batch_size, generator))
            for scheduler in schedulers:
                scheduler.step()
            for name, value in metrics.items():
                totals[name] = totals.get(name, 0.0) + value.detach().float()
        check_finite(totals, (iteration + 1) * updates_per_iteration)  # a non-finite step makes its sum non-finite
        summary = {name: float(total) / max(updates_per_iteration, 1) for name, total in totals.items()}
        if on_iteration is not None:
            on_iteration(iteration, summary)
    return summary
