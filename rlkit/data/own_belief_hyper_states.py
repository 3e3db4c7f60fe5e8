"""The original BOReL's hyper-states for reward-relabelled agent data: beliefs of the stored meta-episodes, then mixed.

BOReL's offline agent (its ``load_buffer``) encodes every stored meta-episode as it was collected, its own task's
rewards included, and only then applies reward relabelling to those hyper-state transitions: the first episode of a
meta-episode is swapped for another task's, hyper-states and all, and only its rewards are recomputed. Every
second episode therefore keeps the belief its own task's first episode produced, so the agent sees many episode
starts with a belief already sharp on the goal, each followed by a return to that goal.

Encoding the relabelled meta-episode instead (rlkit's default, ``--agent-beliefs relabelled``) keeps beliefs
consistent with the relabelled rewards, but a sharp belief at the start of episode 2 then occurs only where another
task's first episode happened to pass the goal. A swapped first episode here carries a belief built from the donor's
rewards next to the target's reward labels; at the small sizes this order did far worse than rlkit's
(benchmarks/results/borel_agent_data.md), so it is an option, not the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tensordict import TensorDictBase
from torch import nn

from rlkit.data.errors import DatasetError
from rlkit.data.hyper_states import HyperStates, relabel_stored_trajectories
from rlkit.data.meta_relabel import SOURCE_TASK, SOURCE_TRAJECTORY
from rlkit.data.task_folders import MetaDataset


def own_belief_hyper_states(
    encoder: nn.Module,
    dataset: MetaDataset,
    relabelled: Sequence[TensorDictBase],
    *,
    goal_hits_as_terminals: bool = False,
    chunk_size: int = 4096,
) -> list[HyperStates]:
    """Per target task, hyper-states (B, H, D) of its relabelled meta-episodes, each episode's taken from the stored
    meta-episode it was copied from (encoded with that task's own rewards).

    dataset: the stored data the relabelling drew from. relabelled: one TensorDict per task, batch [B], from
    ``rlkit.data.meta_relabel.reward_relabel(dataset, ...)`` (its ``source_task`` and ``source_trajectory``).
    goal_hits_as_terminals: the original's bug 4 in the encoding, the belief reset at goal hits (as
    ``hyper_state_transitions``).
    """
    if len(relabelled) != len(dataset):
        raise DatasetError(f"{len(relabelled)} relabelled tasks for a dataset of {len(dataset)}; expected one each")
    own, offsets = [], [0]
    for j in range(len(dataset)):
        states = relabel_stored_trajectories(encoder, dataset.trajectories(j),
                                             goal_hits_as_terminals=goal_hits_as_terminals, chunk_size=chunk_size)
        own.append(states)
        offsets.append(offsets[-1] + states.obs.shape[0])
    all_obs = torch.cat([s.obs for s in own])  # (sum B_j, H, D)
    all_next = torch.cat([s.next_obs for s in own])
    start = torch.tensor(offsets[:-1])
    episodes = dataset.episodes_per_task
    by_episode = lambda x: x.reshape(x.shape[0], episodes, dataset.episode_length, x.shape[-1])  # noqa: E731
    all_obs, all_next = by_episode(all_obs), by_episode(all_next)  # (sum B_j, E, L, D)
    episode = torch.arange(episodes)
    out = []
    for index, td in enumerate(relabelled):
        missing = [key for key in (SOURCE_TASK, SOURCE_TRAJECTORY) if td.get(key, None) is None]
        if missing:
            raise DatasetError(f"relabelled task {index} has no {missing}; expected the output of reward_relabel")
        rows = start[td.get(SOURCE_TASK)] + td.get(SOURCE_TRAJECTORY)  # (B, E): a row of all_obs per episode
        # episode e of output row b is episode e of stored row rows[b, e]: (B, E, L, D) -> (B, H, D)
        out.append(HyperStates(all_obs[rows, episode].flatten(1, 2), all_next[rows, episode].flatten(1, 2)))
    return out
