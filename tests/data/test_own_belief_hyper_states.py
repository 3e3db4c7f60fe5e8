"""The original's agent data under RR: beliefs of the stored meta-episodes, carried along with the mixed episodes."""

import pytest
import torch

from rlkit.agents.hyper_state_rl import hyper_state_transitions
from rlkit.data.errors import DatasetError
from rlkit.data.hyper_states import HyperStates, relabel_hyper_states
from rlkit.data.keys import NEXT_OBS, OBS
from rlkit.data.meta_relabel import reward_relabel
from rlkit.data.own_belief_hyper_states import own_belief_hyper_states
from rlkit.modules.belief import BeliefEncoder
from tests.data.meta_toy import ToyFamily, toy_dataset

KEYS = ("obs", "action", "reward", "next_obs")


def _encoder() -> BeliefEncoder:
    torch.manual_seed(0)
    return BeliefEncoder(obs_dim=1, action_dim=1, latent_dim=3, hidden_size=8)


def _own(encoder, dataset, task):
    traj = dataset.trajectories(task)
    return relabel_hyper_states(encoder, *(traj.get(k).float() for k in KEYS))


def test_each_episode_keeps_the_belief_of_the_stored_meta_episode_it_came_from():
    dataset, encoder = toy_dataset(), _encoder()
    relabelled = list(reward_relabel(dataset, ToyFamily, num_trajectories=6, seed=2).unbind(0))
    states = own_belief_hyper_states(encoder, dataset, relabelled)
    own = [_own(encoder, dataset, j) for j in range(len(dataset))]
    for i, td in enumerate(relabelled):
        assert states[i].obs.shape == (6, 10, 1 + 6) and states[i].next_obs.shape == (6, 10, 1 + 6)
        for b in range(6):
            for episode, steps in enumerate((slice(0, 5), slice(5, 10))):
                j, k = int(td["source_task"][b, episode]), int(td["source_trajectory"][b, episode])
                assert torch.equal(states[i].obs[b, steps], own[j].obs[k, steps])
                assert torch.equal(states[i].next_obs[b, steps], own[j].next_obs[k, steps])
                assert torch.equal(states[i].obs[b, steps, :1], td["obs"][b, steps].float())  # the env part agrees
            assert int(td["source_task"][b, 1]) == i  # episode 2 is the target's own, with its own belief


def test_mixed_episodes_differ_from_encoding_the_relabelled_meta_episode():
    """The point of the option: a replaced first episode carries the donor's belief (from the donor's rewards), and
    the second episode the belief after the target's own first episode, not after the relabelled one."""
    dataset, encoder = toy_dataset(), _encoder()
    relabelled = list(reward_relabel(dataset, ToyFamily, num_trajectories=6, seed=2).unbind(0))
    states = own_belief_hyper_states(encoder, dataset, relabelled)
    consistent = [relabel_hyper_states(encoder, *(td.get(k).float() for k in KEYS)) for td in relabelled]
    first_step = slice(0, 1)  # the prior: equal either way
    assert all(torch.equal(s.obs[:, first_step], c.obs[:, first_step]) for s, c in zip(states, consistent))
    assert any(not torch.allclose(s.obs[:, 5:], c.obs[:, 5:]) for s, c in zip(states, consistent))


def test_without_mixing_it_is_the_plain_encoding_of_each_task():
    dataset, encoder = toy_dataset(), _encoder()
    relabelled = list(reward_relabel(dataset, ToyFamily, num_trajectories=4, fraction=0.0, seed=1).unbind(0))
    states = own_belief_hyper_states(encoder, dataset, relabelled)
    for state, td in zip(states, relabelled):
        expected = relabel_hyper_states(encoder, *(td.get(k).float() for k in KEYS))
        torch.testing.assert_close(state.obs, expected.obs)
        torch.testing.assert_close(state.next_obs, expected.next_obs)


def test_transitions_use_the_given_states_and_check_their_shape():
    dataset, encoder = toy_dataset(), _encoder()
    relabelled = list(reward_relabel(dataset, ToyFamily, num_trajectories=6, seed=2).unbind(0))
    states = own_belief_hyper_states(encoder, dataset, relabelled)
    out = hyper_state_transitions(encoder, relabelled, states=states)
    torch.testing.assert_close(out.data.get(OBS), torch.cat([s.obs.reshape(-1, 7) for s in states]))
    torch.testing.assert_close(out.data.get(NEXT_OBS), torch.cat([s.next_obs.reshape(-1, 7) for s in states]))
    short = [HyperStates(s.obs[:, :9], s.next_obs[:, :9]) for s in states]
    with pytest.raises(DatasetError, match="task 0: given hyper-states of shape"):
        hyper_state_transitions(encoder, relabelled, states=short)
    with pytest.raises(ValueError, match="2 hyper-state sets for 3 tasks"):
        hyper_state_transitions(encoder, relabelled, states=states[:2])


def test_bad_inputs_are_named():
    dataset, encoder = toy_dataset(), _encoder()
    relabelled = list(reward_relabel(dataset, ToyFamily, num_trajectories=2, seed=0).unbind(0))
    with pytest.raises(DatasetError, match="2 relabelled tasks for a dataset of 3"):
        own_belief_hyper_states(encoder, dataset, relabelled[:2])
    stored = [dataset.trajectories(i) for i in range(len(dataset))]
    with pytest.raises(DatasetError, match="relabelled task 0 has no"):
        own_belief_hyper_states(encoder, dataset, stored)


def test_goal_hits_as_terminals_resets_the_belief_at_goal_hits_like_the_original():
    dataset, encoder = toy_dataset(), _encoder()
    relabelled = list(reward_relabel(dataset, ToyFamily, num_trajectories=4, fraction=0.0, seed=1).unbind(0))
    states = own_belief_hyper_states(encoder, dataset, relabelled, goal_hits_as_terminals=True)
    plain = own_belief_hyper_states(encoder, dataset, relabelled)
    assert any(td["goal_reached"].any() for td in relabelled)  # the toy data do hit goals
    for state, td in zip(states, relabelled):
        hits = td["goal_reached"].squeeze(-1) | td["terminated"].squeeze(-1)
        expected = relabel_hyper_states(encoder, *(td.get(k).float() for k in KEYS), terminals=hits,
                                        reset_on_terminal=True)
        torch.testing.assert_close(state.obs, expected.obs)
    assert any(not torch.allclose(s.obs, p.obs) for s, p in zip(states, plain))
