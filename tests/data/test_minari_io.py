"""rlkit.data.minari_io: local Minari datasets (made here with minari.create_dataset_from_buffers) -> rlkit's layout."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError, DatasetNotFoundError
from rlkit.data.layout import validate_transitions
from rlkit.data.minari_io import load_minari, local_minari_ids, minari_dataset_dir

minari = pytest.importorskip("minari")
from minari.data_collector import EpisodeBuffer  # noqa: E402

BOX_OBS = spaces.Box(-np.inf, np.inf, (3,), np.float64)
BOX_ACT = spaces.Box(-1.0, 1.0, (2,), np.float32)
MAZE_OBS = spaces.Dict(  # PointMaze's layout
    {
        "observation": spaces.Box(-np.inf, np.inf, (4,), np.float64),
        "achieved_goal": spaces.Box(-np.inf, np.inf, (2,), np.float64),
        "desired_goal": spaces.Box(-np.inf, np.inf, (2,), np.float64),
    }
)


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def make_dataset(dataset_id, episodes, observation_space, action_space=BOX_ACT):
    with warnings.catch_warnings():  # minari warns about every metadata field left empty
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers(
            dataset_id, episodes, observation_space=observation_space, action_space=action_space
        )


def flags(steps, at_end):
    out = np.zeros(steps, bool)
    out[-1] = at_end
    return out


def box_episode(index, steps, terminated, truncated=None):
    """o_t = [100 i + t, -t, i], a_t = [i, t / 10], r_t = 10 i + t."""
    t = np.arange(steps + 1, dtype=np.float64)
    obs = np.stack([100 * index + t, -t, np.full_like(t, index)], axis=1)
    actions = np.stack([np.full(steps, index), np.arange(steps) / 10], axis=1).astype(np.float32)
    truncated = (not terminated) if truncated is None else truncated
    return EpisodeBuffer(
        id=index,
        observations=obs,
        actions=actions,
        rewards=10.0 * index + np.arange(steps, dtype=np.float64),
        terminations=flags(steps, terminated),
        truncations=flags(steps, truncated),
        infos={"success": np.arange(steps + 1) == steps, "per_step": np.arange(steps, dtype=np.int64) * 7},
    )


def maze_episode(index, steps):
    t = np.arange(steps + 1, dtype=np.float64)[:, None]
    obs = {
        "observation": np.concatenate([t, t + 0.5, t + 0.25, -t], axis=1) + 1000 * index,
        "achieved_goal": np.concatenate([t, t + 0.5], axis=1) + 1000 * index,
        "desired_goal": np.tile(np.array([[7.0, 8.0]]) + index, (steps + 1, 1)),
    }
    return EpisodeBuffer(
        id=index,
        observations=obs,
        actions=np.ones((steps, 2), np.float32) * index,
        rewards=np.zeros(steps),
        terminations=flags(steps, index == 0),
        truncations=flags(steps, index != 0),
        infos={"success": np.zeros(steps + 1, bool)},
    )


def test_box_dataset_exact_values_and_episode_boundaries():
    lengths, ends = (3, 2, 4), (True, False, True)  # terminated, truncated, terminated
    make_dataset("test/box-v0", [box_episode(i, n, e) for i, (n, e) in enumerate(zip(lengths, ends))], BOX_OBS)
    td = load_minari("test/box-v0")
    validate_transitions(td)
    assert td.batch_size == (9,)
    assert td[K.EPISODE].tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert td[K.STEP].tolist() == [0, 1, 2, 0, 1, 0, 1, 2, 3]
    assert td[K.HAS_NEXT].all()  # Minari stores o_{T}: every step has its s'
    episode, step = td[K.EPISODE].double(), td[K.STEP].double()
    expected_obs = torch.stack([100 * episode + step, -step, episode], dim=1).float()
    assert td[K.OBS].dtype == torch.float32
    torch.testing.assert_close(td[K.OBS], expected_obs, rtol=0, atol=0)
    expected_next = torch.stack([100 * episode + step + 1, -(step + 1), episode], dim=1).float()
    torch.testing.assert_close(td[K.NEXT_OBS], expected_next, rtol=0, atol=0)
    torch.testing.assert_close(td[K.ACTION], torch.stack([episode, step / 10], 1).float(), rtol=0, atol=0)
    torch.testing.assert_close(td[K.REWARD].squeeze(-1), (10 * episode + step).float(), rtol=0, atol=0)
    assert td[K.TERMINATED].squeeze(-1).tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert td[K.TRUNCATED].squeeze(-1).tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert td[K.DONE].squeeze(-1).tolist() == [0, 0, 1, 0, 1, 0, 0, 0, 1]
    # infos with T + 1 entries keep the T that go with o_t; infos with T entries are kept as they are
    assert td[K.INFOS, "success"].dtype == torch.bool
    assert not td[K.INFOS, "success"].any()  # success was True only at o_T, which is no row's o_t
    assert td[K.INFOS, "per_step"].tolist() == [0, 7, 14, 0, 7, 0, 7, 14, 21]


def test_both_flags_at_the_end_are_kept():
    make_dataset("test/both-v0", [box_episode(0, 2, True, truncated=True), box_episode(1, 1, False)], BOX_OBS)
    td = load_minari("test/both-v0")
    assert td[K.TERMINATED].squeeze(-1).tolist() == [False, True, False]
    assert td[K.TRUNCATED].squeeze(-1).tolist() == [False, True, True]
    assert td[K.EPISODE].tolist() == [0, 0, 1]


def test_dict_observations_flatten_in_sorted_key_order_and_keep_components():
    make_dataset("test/maze-v0", [maze_episode(0, 3), maze_episode(1, 2)], MAZE_OBS)
    td = load_minari("test/maze-v0")
    validate_transitions(td)
    obs = td[K.OBS]
    assert obs.shape == (5, 8)
    # sorted keys: achieved_goal (2) | desired_goal (2) | observation (4)
    np.testing.assert_array_equal(obs[0].numpy(), [0, 0.5, 7, 8, 0, 0.5, 0.25, 0])
    np.testing.assert_array_equal(obs[4].numpy(), [1001, 1001.5, 8, 9, 1001, 1001.5, 1001.25, 999])
    np.testing.assert_array_equal(td[K.NEXT_OBS][2].numpy(), [3, 3.5, 7, 8, 3, 3.5, 3.25, -3])
    assert td[K.EPISODE].tolist() == [0, 0, 0, 1, 1]
    assert td[K.TERMINATED].squeeze(-1).tolist() == [0, 0, 1, 0, 0]
    assert td[K.TRUNCATED].squeeze(-1).tolist() == [0, 0, 0, 0, 1]
    # every component of o_t is also under infos, as a view of "observation"
    np.testing.assert_array_equal(td[K.INFOS, "desired_goal"].numpy(), [[7, 8]] * 3 + [[8, 9]] * 2)
    torch.testing.assert_close(td[K.INFOS, "observation"], obs[:, 4:])
    assert td[K.INFOS, "achieved_goal"].data_ptr() == obs.data_ptr()
    assert td[K.INFOS, "success"].shape == (5,)


def test_observation_keys_choose_and_order_the_components():
    make_dataset("test/maze-v0", [maze_episode(0, 3)], MAZE_OBS)
    td = load_minari("test/maze-v0", observation_keys=["observation", "desired_goal"])
    np.testing.assert_array_equal(td[K.OBS][1].numpy(), [1, 1.5, 1.25, -1, 7, 8])
    np.testing.assert_array_equal(td[K.NEXT_OBS][1].numpy(), [2, 2.5, 2.25, -2, 7, 8])
    # the component left out of "observation" is still loaded, as its own array
    np.testing.assert_array_equal(td[K.INFOS, "achieved_goal"].numpy(), [[0, 0.5], [1, 1.5], [2, 2.5]])
    with pytest.raises(ValueError, match=r"observation_keys \['goal'\] must be distinct keys.*'desired_goal'"):
        load_minari("test/maze-v0", observation_keys=["goal"])


def test_nested_dict_observations_flatten_sorted_at_every_level():
    space = spaces.Dict(  # FrankaKitchen-like: goals are Dicts of task components
        {
            "observation": spaces.Box(-np.inf, np.inf, (1,), np.float64),
            "desired_goal": spaces.Dict(
                {"microwave": spaces.Box(-1, 1, (1,), np.float64), "kettle": spaces.Box(-1, 1, (2,), np.float64)}
            ),
        }
    )
    steps = 2
    obs = {
        "observation": np.arange(steps + 1, dtype=np.float64)[:, None],
        "desired_goal": {"microwave": np.full((steps + 1, 1), 0.5), "kettle": np.full((steps + 1, 2), -0.5)},
    }
    episode = EpisodeBuffer(
        observations=obs,
        actions=np.zeros((steps, 2), np.float32),
        rewards=np.zeros(steps),
        terminations=flags(steps, True),
        truncations=flags(steps, False),
    )
    make_dataset("test/kitchen-v0", [episode], space)
    td = load_minari("test/kitchen-v0")
    # desired_goal/kettle (2) | desired_goal/microwave (1) | observation (1)
    np.testing.assert_array_equal(td[K.OBS].numpy(), [[-0.5, -0.5, 0.5, 0], [-0.5, -0.5, 0.5, 1]])
    np.testing.assert_array_equal(td[K.INFOS, "desired_goal", "kettle"].numpy(), [[-0.5, -0.5]] * 2)


def test_real_pointmaze_episodes_match_flatten_observation():
    gym = pytest.importorskip("gymnasium")
    gymnasium_robotics = pytest.importorskip("gymnasium_robotics")
    from gymnasium.wrappers import FlattenObservation

    gym.register_envs(gymnasium_robotics)
    env = gym.make("PointMaze_UMaze-v3", continuing_task=False)
    flat_env = FlattenObservation(gym.make("PointMaze_UMaze-v3", continuing_task=False))
    rng = np.random.default_rng(0)
    buffers, expected = [], []
    for seed, steps in ((0, 4), (1, 3)):
        obs, _ = env.reset(seed=seed)
        flat, _ = flat_env.reset(seed=seed)
        observations, flats, actions, rewards = [obs], [flat], [], []
        for _ in range(steps):
            action = rng.uniform(-1, 1, size=2).astype(np.float32)
            obs, reward, *_ = env.step(action)
            flat, *_ = flat_env.step(action)
            observations.append(obs)
            flats.append(flat)
            actions.append(action)
            rewards.append(reward)
        stacked = {key: np.stack([o[key] for o in observations]) for key in observations[0]}
        buffers.append(
            EpisodeBuffer(
                observations=stacked,
                actions=np.stack(actions),
                rewards=np.asarray(rewards),
                terminations=np.zeros(steps, bool),
                truncations=flags(steps, True),
            )
        )
        expected.append(np.stack(flats))
    make_dataset("pointmaze/umaze-random-v0", buffers, env.observation_space, env.action_space)
    td = load_minari("pointmaze/umaze-random-v0")
    want_obs = np.concatenate([e[:-1] for e in expected]).astype(np.float32)
    want_next = np.concatenate([e[1:] for e in expected]).astype(np.float32)
    np.testing.assert_array_equal(td[K.OBS].numpy(), want_obs)
    np.testing.assert_array_equal(td[K.NEXT_OBS].numpy(), want_next)
    assert td[K.EPISODE].tolist() == [0, 0, 0, 0, 1, 1, 1]


def test_an_episode_that_ends_unflagged_is_marked_truncated():
    make_dataset("test/cut-v0", [box_episode(0, 2, False, truncated=False), box_episode(1, 2, True)], BOX_OBS)
    with pytest.warns(UserWarning, match="1 episode.*neither termination nor truncation"):
        td = load_minari("test/cut-v0")
    assert td[K.EPISODE].tolist() == [0, 0, 1, 1]  # the boundary is not lost
    assert td[K.TRUNCATED].squeeze(-1).tolist() == [False, True, False, False]
    assert td[K.TERMINATED].squeeze(-1).tolist() == [False, False, False, True]


def test_a_flag_before_an_episodes_end_is_an_error():
    bad = box_episode(1, 3, True)
    bad.terminations[0] = True
    make_dataset("test/early-v0", [box_episode(0, 2, True), bad], BOX_OBS)
    with pytest.raises(DatasetError, match="episode 1 is terminated or truncated at step 0, before its last step"):
        load_minari("test/early-v0")


def test_discrete_actions_become_int64_column():
    episode = box_episode(0, 3, True)
    episode = EpisodeBuffer(
        observations=episode.observations,
        actions=np.array([2, 0, 1]),
        rewards=episode.rewards,
        terminations=episode.terminations,
        truncations=episode.truncations,
    )
    make_dataset("test/discrete-v0", [episode], BOX_OBS, spaces.Discrete(3))
    td = load_minari("test/discrete-v0", include_infos=False)
    assert td[K.ACTION].dtype == torch.int64
    assert td[K.ACTION].squeeze(-1).tolist() == [2, 0, 1]
    assert K.INFOS not in td


def test_root_argument_wins_over_the_environment_variable(tmp_path, minari_root):
    make_dataset("test/box-v0", [box_episode(0, 2, True)], BOX_OBS)
    moved = tmp_path / "elsewhere"
    minari_root.rename(moved)
    with pytest.raises(DatasetNotFoundError):
        load_minari("test/box-v0")
    assert load_minari("test/box-v0", root=moved).batch_size == (2,)
    assert minari_dataset_dir("test/box-v0", root=moved) == moved / "test" / "box-v0" / "data"
    assert local_minari_ids(moved) == ["test/box-v0"]


def test_missing_dataset_says_where_it_looked_and_how_to_place_it(minari_root):
    make_dataset("test/box-v0", [box_episode(0, 2, True)], BOX_OBS)
    with pytest.raises(DatasetNotFoundError) as info:
        load_minari("test/box-v1")
    message = str(info.value)
    assert str(minari_root / "test" / "box-v1" / "data" / "metadata.json") in message
    assert "$MINARI_DATASETS_PATH" in message
    assert "minari download test/box-v1" in message
    assert "never downloads" in message
    assert "Close matches there: test/box-v0" in message
    assert isinstance(info.value, FileNotFoundError)
