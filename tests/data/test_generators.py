"""Dataset generators: maze planning, the waypoint controller, maze2d and random MuJoCo rollouts."""

import numpy as np
import pytest
import torch

from rlkit.data import keys as K
from rlkit.data.generators.maze2d import MAZES, SPARSE_RADIUS, generate_maze2d, make_point_maze, maze_rewards
from rlkit.data.generators.maze_controller import MazeWaypointController
from rlkit.data.generators.mujoco_random import generate_random
from rlkit.data.generators.policy_rollout import RolloutPolicy, UniformRandomPolicy, rollout_dataset
from rlkit.data.generators.rollout import RolloutArrays, spawn_generators
from rlkit.data.layout import validate_transitions
from rlkit.data.registry import get_builder, registered_names
from rlkit.envs.maze_planning import UNREACHABLE, MazeGrid, distance_maps, next_hop_table, shortest_path

U_GRID = [
    [1, 1, 1, 1, 1],
    [1, 0, 0, 0, 1],
    [1, 1, 1, 0, 1],
    [1, 0, 0, 0, 1],
    [1, 1, 1, 1, 1],
]
# A ring around a central block, a dead-end corridor, and a cell (row 1, col 6) walled off from the rest.
RING_GRID = [
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, 0, 1, 1, 0, 1],
    [1, 0, 1, 0, 0, 0, 1, 1],
    [1, 0, 0, 0, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1],
]


def leaves_equal(a, b) -> bool:
    keys = sorted(a.keys(include_nested=True, leaves_only=True), key=str)
    assert keys == sorted(b.keys(include_nested=True, leaves_only=True), key=str)
    return all(torch.equal(a.get(k), b.get(k)) for k in keys)


# --------------------------------------------------------------------------------------------------- maze planning


def test_shortest_path_goes_around_the_u():
    path = shortest_path(U_GRID, (1, 1), (3, 1))
    assert path == [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1)]


def test_shortest_path_takes_the_short_side_of_a_ring():
    path = shortest_path(RING_GRID, (2, 3), (2, 5))
    assert path == [(2, 3), (2, 4), (2, 5)]
    path = shortest_path(RING_GRID, (1, 1), (3, 3))
    assert len(path) - 1 == 4  # Manhattan distance: both ways round the block are shortest
    steps = np.abs(np.diff(np.array(path), axis=0)).sum(axis=1)
    assert (steps == 1).all() and all(RING_GRID[r][c] == 0 for r, c in path)


def test_unreachable_and_wall_cells_are_errors():
    with pytest.raises(ValueError, match="not connected"):
        shortest_path(RING_GRID, (1, 1), (1, 6))
    with pytest.raises(ValueError, match="wall"):
        shortest_path(RING_GRID, (0, 0), (1, 1))
    with pytest.raises(ValueError, match="outside"):
        shortest_path(RING_GRID, (1, 1), (9, 9))
    with pytest.raises(ValueError, match="row 1 has 2 cells"):
        shortest_path([[0, 0, 0], [0, 0]], (0, 0), (0, 1))


def test_distance_maps_and_next_hops_agree_for_every_pair():
    grid = MazeGrid.from_map(RING_GRID)
    dist = distance_maps(grid.free).reshape(grid.free.size, -1)
    hop = next_hop_table(grid.free)
    free = grid.flat(grid.free_cells)
    assert dist[grid.flat((1, 1)), grid.flat((2, 5))] == 5  # right, right, down, right, right
    assert dist[grid.flat((1, 6)), grid.flat((1, 1))] == UNREACHABLE
    assert hop[grid.flat((1, 6)), grid.flat((1, 1))] == UNREACHABLE
    for goal in free:
        for start in free:
            if dist[goal, start] == UNREACHABLE:
                continue
            cell, moves = start, 0
            while cell != goal:
                nxt = hop[goal, cell]
                assert dist[goal, nxt] == dist[goal, cell] - 1  # every hop gets one move closer
                cell, moves = nxt, moves + 1
            assert moves == dist[goal, start]


def test_maze_grid_frame_matches_gymnasium_robotics():
    grid = MazeGrid.from_map(U_GRID, scaling=4.0)
    np.testing.assert_allclose(grid.cell_center(np.array([1, 1])), [-4.0, 4.0])  # (j + .5) * s - W s / 2, ...
    np.testing.assert_allclose(grid.cell_center(np.array([3, 3])), [4.0, -4.0])
    cells = grid.free_cells
    assert (grid.cell_of(grid.cell_center(cells) + 1.9) == cells).all()  # anywhere inside the 4-wide cell
    env = make_point_maze("PointMaze_Medium-v3")
    maze = env.unwrapped.maze
    medium = MazeGrid.from_maze(maze)
    for cell in medium.free_cells[:5]:
        np.testing.assert_allclose(medium.cell_center(cell), maze.cell_rowcol_to_xy(cell))
    env.close()


# ------------------------------------------------------------------------------------------------------ controller


def test_controller_follows_the_u_to_its_goal_without_noise():
    env = make_point_maze("PointMaze_UMaze-v3")
    obs = env.reset(seed=0, options={"reset_cell": np.array([1, 1]), "goal_cell": np.array([3, 1])})[0]["observation"]
    grid = MazeGrid.from_maze(env.unwrapped.maze)
    controller = MazeWaypointController(grid, seed=0)
    goal = grid.cell_center(np.array([3, 1]))
    visited, reached_at = set(), None
    for t in range(300):
        visited.add(tuple(grid.cell_of(obs[:2])))
        if controller.goal_reached(obs[:2], goal):
            reached_at = t
            break
        obs = env.unwrapped.point_env.step(controller.act(obs, goal))[0]
    env.close()
    assert reached_at is not None, "the controller did not reach the goal in 300 steps"
    assert {(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1)} <= visited  # it went round, not into the wall
    assert not any(U_GRID[r][c] == 1 for r, c in visited)


def test_controller_batch_matches_single_agents():
    grid = MazeGrid.from_map(U_GRID)
    obs = np.array([[-1.0, 1.0, 0.1, 0.0], [1.0, -1.0, 0.0, -0.2]])
    goals = grid.cell_center(np.array([[3, 1], [1, 1]]))
    batch = MazeWaypointController(grid, waypoint_jitter=0.0).act(obs, goals)
    singles = [MazeWaypointController(grid, waypoint_jitter=0.0).act(o, g) for o, g in zip(obs, goals)]
    np.testing.assert_allclose(batch, np.stack(singles))
    # (1, 1) -> (3, 1): first waypoint (1, 2), one cell right: 10 * (1, 0) - (0.1, 0) clipped to (1, 0).
    # (3, 3) -> (1, 1): first waypoint (2, 3), one cell up: 10 * (0, 1) - (0, -0.2) clipped to (0, 1).
    np.testing.assert_allclose(batch, [[1.0, 0.0], [0.0, 1.0]])


def test_controller_rejects_a_goal_in_a_wall():
    grid = MazeGrid.from_map(U_GRID)
    with pytest.raises(ValueError, match="wall cell"):
        MazeWaypointController(grid).act(np.zeros(4), grid.cell_center(np.array([2, 1])))


# ---------------------------------------------------------------------------------------------------------- maze2d


@pytest.fixture(scope="module")
def umaze_run():
    return generate_maze2d("umaze", 2000, seed=0, progress=False)


def test_maze2d_layout(umaze_run):
    td, meta = umaze_run
    validate_transitions(td)
    assert td.batch_size[0] == 2000 and meta["layout"] == "maze"
    assert td.get(K.OBS).shape == (2000, 4) and td.get(K.ACTION).shape == (2000, 2)
    assert td.get(K.OBS).dtype == torch.float32
    assert not td.get(K.TERMINATED).any()
    timeouts = td.get(K.TRUNCATED).reshape(-1).nonzero().reshape(-1)
    assert timeouts.tolist() == [299, 599, 899, 1199, 1499, 1799]  # every max_episode_steps (300) rows
    assert not td.get(K.HAS_NEXT)[timeouts].any() and not td.get(K.HAS_NEXT)[-1]
    assert td.get(K.HAS_NEXT).sum() == 2000 - len(timeouts) - 1
    assert torch.equal(td.get(("infos", "qpos")), td.get(K.OBS)[:, :2])
    assert torch.equal(td.get(("infos", "qvel")), td.get(K.OBS)[:, 2:])
    assert td.get(K.ACTION).abs().max() <= 1.0


def test_maze2d_reward_is_the_fixed_goal_of_the_next_state(umaze_run):
    td, meta = umaze_run
    has_next = td.get(K.HAS_NEXT)
    next_xy = td.get(K.NEXT_OBS)[has_next, :2].double()
    goal = torch.tensor(meta["eval_goal_xy"], dtype=torch.float64)
    expected = ((next_xy - goal).norm(dim=1) <= SPARSE_RADIUS).float()
    assert torch.equal(td.get(K.REWARD)[has_next, 0], expected)
    assert meta["eval_goal_xy"] == [-1.0, 1.0]  # D4RL's "G" cell (1, 1) of the U-maze, in gymnasium's frame
    dense = maze_rewards(np.array([[-1.0, 1.0], [0.0, 1.0]]), np.array([-1.0, 1.0]), "dense")
    np.testing.assert_allclose(dense, [1.0, np.exp(-1.0)], rtol=1e-6)


def test_maze2d_controller_reaches_its_random_goals(umaze_run):
    td, _ = umaze_run
    assert td.get(K.REWARD).sum() >= 20  # the evaluation goal is visited, again and again
    goal = td.get(("infos", "goal")).double()
    changed = (goal[1:] != goal[:-1]).any(dim=1).nonzero().reshape(-1) + 1
    assert len(changed) >= 8
    grid = MazeGrid.from_map(U_GRID)
    old_goal_center = torch.from_numpy(grid.cell_center(grid.cell_of(goal[changed - 1].numpy())))
    position = td.get(K.OBS)[changed, :2].double()  # the state at which the new goal was drawn
    assert ((position - old_goal_center).norm(dim=1) < 0.1 + 1e-6).all()  # every change: the old goal was reached
    offsets = goal - torch.from_numpy(grid.cell_center(grid.cell_of(goal.numpy())))
    assert offsets.abs().max() <= 0.1 + 1e-6  # goals are cell centres + U(-0.1, 0.1)
    assert len({tuple(c) for c in grid.cell_of(goal.numpy()).tolist()}) >= 4  # goals spread over the cells


def test_maze2d_is_deterministic_per_seed():
    a, _ = generate_maze2d("umaze", 300, seed=3, progress=False)
    b, _ = generate_maze2d("umaze", 300, seed=3, progress=False)
    c, _ = generate_maze2d("umaze", 300, seed=4, progress=False)
    assert leaves_equal(a, b)
    assert not torch.equal(a.get(K.OBS), c.get(K.OBS))


def test_maze2d_names_sizes_and_bad_arguments():
    names = registered_names()
    for maze, default in (("umaze", 1_000_000), ("medium", 2_000_000), ("large", 4_000_000)):
        for suffix in ("", "-dense"):
            builder = get_builder(f"maze2d-{maze}{suffix}-v1")
            assert builder is not None and builder.default_steps == default
    assert MAZES["large"].max_episode_steps == 800 and "maze2d-large-v1" in names
    with pytest.raises(ValueError, match="reward_type"):
        generate_maze2d("umaze", 10, seed=0, reward_type="shaped", progress=False)
    with pytest.raises(ValueError, match="unknown maze"):
        generate_maze2d("huge", 10, seed=0, progress=False)


# ------------------------------------------------------------------------------------------------- random MuJoCo


def test_hopper_random_episodes_end_by_termination():
    td, meta = get_builder("hopper-random-v2").build(1500, 0, progress=False)
    validate_transitions(td)
    assert meta["layout"] == "mujoco" and td.get(K.HAS_NEXT).all()
    term, trunc = td.get(K.TERMINATED).reshape(-1), td.get(K.TRUNCATED).reshape(-1)
    assert term.sum() >= 20 and not trunc.any()  # random hoppers fall within a few dozen steps
    step = td.get(K.STEP)
    assert (step[1:][term[:-1]] == 0).all()  # the row after a termination starts a new episode
    inside = ~(term | trunc)[:-1]
    assert torch.equal(td.get(K.NEXT_OBS)[:-1][inside], td.get(K.OBS)[1:][inside])  # s' is the next row's s
    assert torch.equal(td.get(K.OBS)[:, :5], td.get(("infos", "qpos"))[:, 1:])  # qpos is that of s_t
    actions = td.get(K.ACTION)
    assert actions.abs().max() <= 1.0 and actions.std() > 0.5  # uniform on [-1, 1]: std 0.577
    torch.testing.assert_close(td.get(("infos", "action_log_probs")), torch.full((1500,), -3 * np.log(2.0)).float())


def test_random_episodes_end_by_time_limit():
    td, _ = generate_random("HalfCheetah-v5", 130, seed=0, max_episode_steps=50, progress=False)
    term, trunc = td.get(K.TERMINATED).reshape(-1), td.get(K.TRUNCATED).reshape(-1)
    assert not term.any()
    assert trunc.nonzero().reshape(-1).tolist() == [49, 99]
    assert td.get(K.STEP).tolist()[:51] == [*range(50), 0]
    # a truncated row keeps its real s' (the env was reset only afterwards)
    assert not torch.equal(td.get(K.NEXT_OBS)[49], td.get(K.OBS)[50])


def test_random_is_deterministic_per_seed():
    a, _ = generate_random("Hopper-v5", 300, seed=1, progress=False)
    b, _ = generate_random("Hopper-v5", 300, seed=1, progress=False)
    c, _ = generate_random("Hopper-v5", 300, seed=2, progress=False)
    assert leaves_equal(a, b)
    assert not torch.equal(a.get(K.ACTION), c.get(K.ACTION))


# ---------------------------------------------------------------------------------------------------------- helpers


def test_spawned_generators_are_independent_and_reproducible():
    a1, b1 = spawn_generators(5, 2)
    a2, b2 = spawn_generators(5, 2)
    x = a1.random(4)
    assert np.array_equal(x, a2.random(4)) and not np.array_equal(x, b1.random(4))
    assert np.array_equal(spawn_generators(5, 3)[0].random(4), x)  # adding a stream leaves the first unchanged


def test_rollout_arrays_check_their_rows():
    with pytest.raises(ValueError, match="positive"):
        RolloutArrays(0, {"observations": ((2,), np.float32)})
    arrays = RolloutArrays(3, {"observations": ((2,), np.float32)})
    with pytest.raises(ValueError, match="expected 3"):
        arrays["rewards"] = np.zeros(4, np.float32)


# ------------------------------------------------------------------------------------------------ policy rollouts


class ConstantPolicy(RolloutPolicy):
    """Always the same action; counts episodes through ``reset``."""

    def __init__(self, action):
        self.action, self.resets = np.asarray(action), 0

    def reset(self, rng):
        self.resets += 1

    def act(self, observation, rng):
        return self.action, None


def test_rollout_dataset_records_any_policy():
    policy = ConstantPolicy([0.5, -0.5, 0.25])
    td = rollout_dataset("Hopper-v5", policy, 400, seed=3, max_episode_steps=60, progress=False)
    validate_transitions(td)
    np.testing.assert_array_equal(td["action"].numpy(), np.tile(np.float32([0.5, -0.5, 0.25]), (400, 1)))
    assert "action_log_probs" not in td["infos"].keys()  # noqa: SIM118 (no invented log-probs)
    ends = td["next", "done"].squeeze(-1)
    assert policy.resets == 1 + int(ends.sum())  # reset at the start and after every episode end
    steps_in_episode = td["step"][ends]
    assert (steps_in_episode <= 59).all()
    # s' of a row is s of the next row inside an episode
    inside = ~ends[:-1]
    np.testing.assert_array_equal(td["next", "observation"][:-1][inside].numpy(), td["observation"][1:][inside].numpy())


def test_uniform_random_policy_log_prob_is_the_box_density():
    policy = UniformRandomPolicy(np.array([-1.0, -2.0]), np.array([1.0, 2.0]))
    action, log_prob = policy.act(np.zeros(3), np.random.default_rng(0))
    assert log_prob == pytest.approx(-np.log(2.0 * 4.0))
    assert -1 <= action[0] <= 1 and -2 <= action[1] <= 2
