"""antmaze-*-v2 generators: the D4RL layout written, determinism, goal modes, the plot, and the gait search."""

import json
import warnings

import numpy as np
import pytest
import torch

from rlkit.data import build_dataset, load_d4rl
from rlkit.data.d4rl_io import load_d4rl_metadata
from rlkit.data.generators import antmaze, gait_search
from rlkit.data.generators.antmaze import (
    DATASETS,
    EPISODE_STEPS,
    MAZES,
    SUCCESS_RADIUS,
    generate_antmaze,
    make_ant_maze,
    start_and_goal_cells,
)
from rlkit.data.generators.antmaze_plot import plot_antmaze_dataset
from rlkit.data.registry import registered_names
from rlkit.envs.maze_planning import MazeGrid


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 2000-step antmaze-umaze-v2 file written through build_dataset, loaded back."""
    path = tmp_path_factory.mktemp("antmaze") / "antmaze-umaze-v2.hdf5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_dataset("antmaze-umaze-v2", out=path, steps=2000, seed=0, progress=False)
    return path, load_d4rl(path), load_d4rl_metadata(path)


def test_all_six_names_are_registered():
    assert set(DATASETS) <= set(registered_names())
    assert len(DATASETS) == 6


def test_tiny_build_has_d4rl_antmaze_layout(built):
    path, td, metadata = built
    n = 2000
    assert td.batch_size == torch.Size([n])
    assert td["observation"].shape == (n, 29) and td["action"].shape == (n, 8)
    assert td["infos", "goal"].shape == (n, 2)
    assert td["infos", "qpos"].shape == (n, 15) and td["infos", "qvel"].shape == (n, 14)
    torch.testing.assert_close(td["observation"], torch.cat([td["infos", "qpos"], td["infos", "qvel"]], dim=1))
    assert float(td["action"].abs().max()) <= 1.0
    stats = metadata["settings"]["stats"]
    timeouts = torch.nonzero(td["next", "truncated"].reshape(-1)).reshape(-1)
    if stats["flip_rate"] == 0:
        assert timeouts.tolist() == [EPISODE_STEPS - 1, 2 * EPISODE_STEPS - 1]
    else:  # a flip cuts an episode short; none is ever longer than 1000 steps
        assert timeouts[-1] == n - 1 and int(torch.diff(timeouts, prepend=torch.tensor([-1])).max()) <= EPISODE_STEPS
    # the ant walks: the xy of the first episode spans more than a cell
    xy = td["observation"][:EPISODE_STEPS, :2]
    assert float((xy.max(0).values - xy.min(0).values).max()) > 4.0
    assert stats["goals_per_episode"] >= 1.0


def test_rewards_are_d4rl_sparse_rewards_for_the_evaluation_goal(built):
    _, td, metadata = built
    eval_goal = torch.tensor(metadata["settings"]["eval_goal_xy"], dtype=torch.float64)
    np.testing.assert_allclose(eval_goal.numpy(), [-4.0, -4.0])  # the G cell (3, 1) of D4RL's U-maze
    reward = td["next", "reward"].reshape(-1)
    within = td["has_next"]  # s' is the next row there
    next_xy = td["next", "observation"][within, :2].double()
    expected = ((next_xy - eval_goal).norm(dim=1) <= SUCCESS_RADIUS).float()
    torch.testing.assert_close(reward[within], expected, atol=1e-6, rtol=0)  # float32 xy at the 0.5 border
    assert set(reward.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(td["next", "terminated"].reshape(-1), reward > 0)  # D4RL: terminals == rewards


def test_goals_are_inside_free_cells_and_change_when_reached(built):
    _, td, metadata = built
    grid = MazeGrid.from_map(
        [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], 4.0
    )
    goals = td["infos", "goal"].double().numpy()
    cells = grid.cell_of(goals)
    assert grid.free[cells[:, 0], cells[:, 1]].all()
    # umaze alternates between the evaluation goal's cell (3, 1) and the start cell (1, 1)
    assert {tuple(c) for c in np.unique(cells, axis=0).tolist()} <= {(3, 1), (1, 1)}
    changes = np.flatnonzero(np.any(goals[1:] != goals[:-1], axis=1)) + 1
    xy = td["observation"][:, :2].double().numpy()
    episode_starts = {0, EPISODE_STEPS}
    for row in changes:  # a goal changes only at an episode start or once the ant is within the radius
        if row not in episode_starts:
            assert np.linalg.norm(xy[row] - goals[row - 1]) <= SUCCESS_RADIUS


def test_metadata_records_gait_and_statistics(built):
    _, _, metadata = built
    settings = metadata["settings"]
    assert settings["env_id"] == "AntMaze_UMaze-v5" and settings["goal_mode"] == "fixed"
    assert float(settings["gait"]["frequency"]) == pytest.approx(gait_search.TUNED_GAIT.frequency)
    assert settings["gait_search"]["settings_key"] == gait_search.GaitSearchSettings().key()
    assert 0.0 <= float(settings["stats"]["cell_coverage"]) <= 1.0


def test_same_seed_same_arrays_different_seed_different():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, _ = generate_antmaze("antmaze-medium-diverse-v2", 600, 5, progress=False, workers=1)
        b, _ = generate_antmaze("antmaze-medium-diverse-v2", 600, 5, progress=False, workers=1)
        c, _ = generate_antmaze("antmaze-medium-diverse-v2", 600, 6, progress=False, workers=1)
    for key in ("observation", "action", ("infos", "goal"), ("next", "reward")):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert not torch.equal(a["observation"], c["observation"])
    assert bool(a["next", "truncated"][-1])  # the cut episode is marked as truncated


def test_shards_concatenate_in_order_and_cut_exactly(monkeypatch):
    monkeypatch.setattr(antmaze, "STEPS_PER_SHARD", 300)  # 2 shards of >= 300 rows (one episode each)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        td, metadata = generate_antmaze("antmaze-large-play-v2", 600, 1, progress=False, workers=1)
        first = antmaze.generate_shard(0, 1, lambda n: None, name="antmaze-large-play-v2", shard_steps=300,
                                       gait=gait_search.TUNED_GAIT)
    assert metadata["num_shards"] == 2 and td.batch_size[0] == 600
    k = len(first["observations"])
    torch.testing.assert_close(td["observation"][: min(k, 600)], torch.from_numpy(first["observations"][:600]))
    assert bool(td["next", "truncated"][-1])


def test_concatenate_refuses_short_shards():
    shard = {key: np.zeros((3, 2)) for key in ("observations", "actions", "infos/goal", "next_xy")}
    shard["timeouts"] = np.zeros(3, dtype=bool)
    with pytest.raises(RuntimeError, match="3 rows; 5"):
        antmaze._concatenate([shard], 5)
    out = antmaze._concatenate([shard, shard], 4)
    assert out["timeouts"].tolist() == [False, False, False, True]


def test_goal_modes_use_free_cells_of_the_real_mazes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for maze, spec in MAZES.items():
            env = make_ant_maze(spec.env_id)
            grid = MazeGrid.from_maze(env.unwrapped.maze)
            env.close()
            for mode in ("fixed", "play", "diverse"):
                starts, goals = start_and_goal_cells(spec, mode, grid)
                for cells in (starts, goals):
                    assert grid.free[cells[:, 0], cells[:, 1]].all(), (maze, mode)
            _, diverse_goals = start_and_goal_cells(spec, "diverse", grid)
            assert len(diverse_goals) == int(grid.free.sum())
            assert grid.free[spec.eval_goal_cell]
    with pytest.raises(ValueError, match="goal mode"):
        start_and_goal_cells(MAZES["umaze"], "random", grid)


def test_unknown_name_and_bad_steps_raise():
    with pytest.raises(ValueError, match="unknown antmaze dataset"):
        generate_antmaze("antmaze-huge-v2", 10, 0)
    with pytest.raises(ValueError, match="steps"):
        generate_antmaze("antmaze-umaze-v2", 0, 0)


def test_plot_writes_a_png(built, tmp_path):
    path, td, _ = built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = plot_antmaze_dataset(path, tmp_path / "plot.png")
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
        with pytest.raises(ValueError, match="maze="):
            plot_antmaze_dataset(td, tmp_path / "x.png")
        assert plot_antmaze_dataset(td, tmp_path / "y.png", maze="umaze").exists()


# ---------------------------------------------------------------- gait search


TINY = gait_search.GaitSearchSettings(
    iterations=1, population=3, elites=1, episodes=1, episode_steps=40, eval_episodes=1
)


def test_score_measures_progress_and_a_gait_without_hip_swing_scores_near_zero():
    env = gait_search.make_open_floor_env()
    settings = gait_search.GaitSearchSettings(episode_steps=200, action_noise_std=0.05)
    try:
        walking, flipped = gait_search.score_gait(gait_search.TUNED_GAIT, env, settings, seed=0)
        still = gait_search.GaitParams(**{**gait_search.TUNED_GAIT.to_dict(), "hip_amplitude": 0.0})
        standing, _ = gait_search.score_gait(still, env, settings, seed=0)
    finally:
        env.close()
    assert walking > 0.6 and not flipped
    assert abs(standing) < 0.2


def test_tiny_search_is_cached_by_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RLKIT_DATA_DIR", str(tmp_path))
    result = gait_search.cached_search(TINY, progress=False)
    path = gait_search.cache_path(TINY)
    assert path.parent == tmp_path / "gait_search" and json.loads(path.read_text())["key"] == TINY.key()
    low, high = gait_search.PARAM_BOUNDS.T
    values = gait_search.GaitParams(**result["params"]).to_array()
    assert np.all(values >= low) and np.all(values <= high)
    assert len(result["history"]) == 1

    def no_search(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(gait_search, "search_gait", no_search)
    assert gait_search.cached_search(TINY, progress=False) == result
    other = gait_search.GaitSearchSettings(**{**TINY.__dict__, "seed": 1})
    assert other.key() != TINY.key()
    with pytest.raises(AssertionError, match="cache"):
        gait_search.cached_search(other, progress=False)


def test_search_rejects_bad_elite_count():
    with pytest.raises(ValueError, match="elites"):
        gait_search.search_gait(gait_search.GaitSearchSettings(population=2, elites=3), progress=False)
