import numpy as np
import pytest
import torch

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from rlkit.data.layout import transitions_from_arrays
from rlkit.data.ptgm_data import GoalDataset, load_kitchen_goal_data, load_maze_goal_data
from rlkit.envs.goal_tasks import KITCHEN_GOAL_DIMS
from tests.data.d4rl_fixtures import maze_arrays, write_hdf5


def toy(lengths=(8, 13), obs_dim=3):
    """Episodes of the given lengths; observation row r = [r, 100 + r, -r] (dims identify the row)."""
    n = sum(lengths)
    rows = np.arange(n, dtype=np.float32)
    obs = np.stack([rows, 100 + rows, -rows][:obs_dim], axis=1)
    timeouts = np.zeros(n, bool)
    timeouts[np.cumsum(lengths) - 1] = True
    data = transitions_from_arrays(obs, np.zeros((n, 2), np.float32), np.zeros(n, np.float32), np.zeros(n, bool),
                                   timeouts, source="toy")
    return data


def test_goal_states_take_every_sixth_step_of_each_episode_and_only_goal_dims():
    data = GoalDataset(toy((8, 13)), goal_dims=(1, 0), source="toy")
    goals = data.goal_states(every=6)
    # episode 0 rows 0..7 -> steps 0, 6; episode 1 rows 8..20 -> steps 0, 6, 12 = rows 8, 14, 20
    np.testing.assert_array_equal(goals[:, 1].numpy(), [0, 6, 8, 14, 20])
    np.testing.assert_array_equal(goals[:, 0].numpy(), [100, 106, 108, 114, 120])
    assert goals.dtype == torch.float32 and data.goal_dim == 2 and data.obs_dim == 3


def test_too_few_goal_states_for_the_codes_is_a_clear_error():
    data = GoalDataset(toy((8, 13)), goal_dims=(0,), source="toy")
    assert data.goal_states(num_codes=5).shape == (5, 1)
    with pytest.raises(DatasetError, match=r"toy: 5 goal states .* for 6 codes"):
        data.goal_states(num_codes=6)
    with pytest.raises(ValueError, match="every must be a positive int"):
        data.goal_states(every=0)


@pytest.mark.parametrize("dims, message", [((0, 3), r"goal dims \[3\] lie outside the observation, which has 3"),
                                           ((), "non-empty"), ((1, 1), "repeat an index"),
                                           ((-1,), r"goal dims \[-1\]")])
def test_goal_dims_outside_the_observation_are_rejected(dims, message):
    with pytest.raises(DatasetError, match=message):
        GoalDataset(toy(), goal_dims=dims, source="toy")


def test_windows_give_the_k_states_before_the_goal_and_its_goal_dims():
    data = GoalDataset(toy((8, 13)), goal_dims=(1,), source="toy")
    batch = data.sample_windows(256, horizon=4, generator=torch.Generator().manual_seed(0))
    obs, goal = batch[K.OBS][..., 0], batch["goal"][..., 0]  # row ids and 100 + goal row
    assert batch.batch_size == torch.Size([256, 4])
    goal_row = goal[:, 0] - 100
    np.testing.assert_array_equal((obs - goal_row[:, None]).numpy(), np.tile([-4, -3, -2, -1], (256, 1)))
    assert bool((goal == goal[:, :1]).all())
    ep0 = goal_row < 8  # the goal is at step >= 4 of its episode and the window stays inside the episode
    assert bool(((goal_row[ep0] >= 4) & (goal_row[ep0] <= 7)).all())
    assert bool(((goal_row[~ep0] >= 12) & (goal_row[~ep0] <= 20)).all())
    assert set(goal_row.long().tolist()) == {4, 5, 6, 7, *range(12, 21)}


def test_maze_data_loads_by_path_with_xy_goals(tmp_path):
    path = write_hdf5(tmp_path / "maze.hdf5", maze_arrays(n=30, timeouts_at=(9, 19), terminals_at=()))
    data = load_maze_goal_data(path)
    assert data.goal_dims == (0, 1) and data.layout == "maze2d" and data.table.num_episodes == 3
    np.testing.assert_allclose(data.goal_states(every=6).numpy(), data.data[K.OBS][[0, 6, 10, 16, 20, 26], :2])


def test_kitchen_d4rl_file_uses_the_d4rl_goal_dims_and_checks_the_width(tmp_path):
    tree = maze_arrays(n=20, obs_dim=60, act_dim=9, timeouts_at=(9,), terminals_at=())
    data = load_kitchen_goal_data(write_hdf5(tmp_path / "kitchen.hdf5", tree))
    assert data.layout == "kitchen-d4rl" and data.goal_dims == KITCHEN_GOAL_DIMS["d4rl"] and data.act_dim == 9
    np.testing.assert_allclose(data.goal_states().numpy()[0], tree["observations"][0, list(data.goal_dims)])
    narrow = write_hdf5(tmp_path / "narrow.hdf5", maze_arrays(n=20, obs_dim=30, act_dim=9))
    with pytest.raises(DatasetError, match="observations have 30 dims; expected 60"):
        load_kitchen_goal_data(narrow)


def test_kitchen_minari_dataset_uses_the_gymnasium_goal_dims(tmp_path, monkeypatch):
    minari = pytest.importorskip("minari")
    import warnings

    from gymnasium import spaces
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    box = lambda n: spaces.Box(-np.inf, np.inf, (n,), np.float64)  # noqa: E731
    space = spaces.Dict({"observation": box(59), "achieved_goal": spaces.Dict({"microwave": box(1)}),
                         "desired_goal": spaces.Dict({"microwave": box(1)})})
    steps = 7
    obs = np.arange((steps + 1) * 59, dtype=np.float64).reshape(steps + 1, 59)
    episode = EpisodeBuffer(id=0, observations={"observation": obs, "achieved_goal": {"microwave": obs[:, :1]},
                                                "desired_goal": {"microwave": obs[:, :1]}},
                            actions=np.zeros((steps, 9), np.float32), rewards=np.zeros(steps),
                            terminations=np.zeros(steps, bool), truncations=np.arange(steps) == steps - 1,
                            infos={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers("test/kitchen-v0", [episode], observation_space=space,
                                           action_space=spaces.Box(-1, 1, (9,), np.float32))
    data = load_kitchen_goal_data("minari:test/kitchen-v0")
    assert data.layout == "kitchen-gymnasium" and data.obs_dim == 59
    np.testing.assert_allclose(data.goal_states().numpy(), obs[[0, 6]][:, list(KITCHEN_GOAL_DIMS["gymnasium"])])
