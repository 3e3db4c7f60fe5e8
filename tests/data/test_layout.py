"""rlkit.data.layout: arrays -> TensorDict, episode indices, has_next, checks."""

import numpy as np
import pytest
import torch

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from rlkit.data.layout import episode_boundaries, transitions_from_arrays, transitions_only, validate_transitions


def maze_arrays(n=7):
    obs = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    act = np.ones((n, 1), np.float32)
    rew = np.arange(n, dtype=np.float32)
    term = np.zeros(n, bool)
    timeout = np.zeros(n, bool)
    timeout[2] = True  # episode 0: rows 0-2, cut by a time limit
    term[4] = True  # episode 1: rows 3-4, terminated
    return obs, act, rew, term, timeout  # episode 2: rows 5-6, cut by the end of the file


def test_episode_boundaries_hand_computed():
    ends = torch.tensor([0, 0, 1, 0, 1, 0, 0], dtype=torch.bool)
    episode, step = episode_boundaries(ends)
    assert episode.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert step.tolist() == [0, 1, 2, 0, 1, 0, 1]


def test_derived_next_observation_never_crosses_a_timeout():
    obs, act, rew, term, timeout = maze_arrays()
    td = transitions_from_arrays(obs, act, rew, term, timeout)
    assert td[K.EPISODE].tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert td[K.STEP].tolist() == [0, 1, 2, 0, 1, 0, 1]
    # row 2 ends by timeout: s' unknown; row 4 terminates: s' irrelevant, transition kept; row 6: end of file
    assert td[K.HAS_NEXT].tolist() == [True, True, False, True, True, True, False]
    valid = td[K.HAS_NEXT] & ~td[K.TERMINATED].squeeze(-1)
    np.testing.assert_array_equal(td[K.NEXT_OBS][valid].numpy(), obs[1:][valid[:-1].numpy()])
    assert td[K.DONE].squeeze(-1).tolist() == [False, False, True, False, True, False, False]
    assert td[K.TRUNCATED].squeeze(-1).tolist() == timeout.tolist()
    assert td[K.REWARD].shape == (7, 1)
    validate_transitions(td)
    kept = transitions_only(td)
    assert kept.shape == (5,)
    assert kept[K.HAS_NEXT].all()


def test_given_next_observations_are_kept_and_all_rows_valid():
    obs, act, rew, term, timeout = maze_arrays()
    next_obs = obs + 100
    td = transitions_from_arrays(obs, act, rew, term, timeout, next_observations=next_obs)
    assert td[K.HAS_NEXT].all()
    np.testing.assert_array_equal(td[K.NEXT_OBS].numpy(), next_obs)
    # wrapped, not copied
    assert td[K.OBS].data_ptr() == torch.from_numpy(obs).data_ptr() or np.shares_memory(td[K.OBS].numpy(), obs)


def test_float_flags_become_bool_and_infos_nest():
    obs, act, rew, term, timeout = maze_arrays()
    infos = {"goal": np.zeros((7, 2)), "success": np.ones(7, bool), "inner": {"qpos": np.ones((7, 3))}}
    td = transitions_from_arrays(obs, act, rew, term.astype(np.float32), timeout.astype(np.float32), infos=infos)
    assert td[K.TERMINATED].dtype == torch.bool
    assert td["infos", "inner", "qpos"].shape == (7, 3)
    assert td["infos", "success"].dtype == torch.bool


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.update(rewards=a["rewards"][:5]), "'rewards' has 5 rows; expected 7"),
        (lambda a: a["observations"].__setitem__((3, 1), np.inf), "'observations' has 1 non-finite"),
        (lambda a: a["rewards"].__setitem__(6, np.nan), "non-finite value(s) (NaN/inf), first at row 6"),
        (lambda a: a.update(rewards=np.zeros((7, 3), np.float32)), "'rewards' has shape (7, 3)"),
        (lambda a: a.update(observations=np.array(["x"] * 7)), "'observations' has dtype <U1, which is not numeric"),
        (lambda a: a.update(rewards=np.arange(7)), "'rewards' has dtype torch.int64; expected a floating-point"),
        (lambda a: a["terminals"].__setitem__(1, 2), "'terminals' holds 2"),
        (lambda a: a.update(observations=np.zeros((0, 2), np.float32)), "'observations' is empty"),
    ],
)
def test_bad_arrays_name_file_and_key(mutate, message):
    obs, act, rew, term, timeout = maze_arrays()
    arrays = dict(observations=obs, actions=act, rewards=rew, terminals=term.astype(np.int64), timeouts=timeout)
    mutate(arrays)
    with pytest.raises(DatasetError) as info:
        transitions_from_arrays(**arrays, source="file.hdf5")
    assert str(info.value).startswith("file.hdf5: ")
    assert message in str(info.value)


def test_validate_transitions_names_missing_and_bad_keys():
    obs, act, rew, term, timeout = maze_arrays()
    td = transitions_from_arrays(obs, act, rew, term, timeout)
    broken = td.clone()
    del broken["next", "reward"]
    with pytest.raises(DatasetError, match=r"missing key\(s\) \[\('next', 'reward'\)\]"):
        validate_transitions(broken, source="mem")
    broken = td.clone()
    broken.set(K.DONE, broken[K.DONE].float())
    with pytest.raises(DatasetError, match="expected torch.bool"):
        validate_transitions(broken)
    broken = td.clone()
    broken[K.OBS][0, 0] = float("nan")
    with pytest.raises(DatasetError, match="non-finite"):
        validate_transitions(broken)
