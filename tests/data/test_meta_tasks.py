import numpy as np
import pytest
import torch

from rlkit.data import keys as K
from rlkit.data.generators.meta_tasks import (
    _collect_shard,
    _grid_greedy,
    collect_meta_dataset,
    collect_meta_tasks,
    noise_schedule,
)
from rlkit.data.meta_relabel import reward_relabel
from rlkit.data.task_folders import GOAL_REACHED, TASK, load_task_folders

meta = pytest.importorskip("rlkit.envs.meta.registry")


def test_grid_collection_layout_and_goal_directed_behaviour(tmp_path):
    dataset = collect_meta_tasks("gridworld", 2, out=tmp_path / "grid", meta_episodes=12, seed=1, progress=False,
                                 workers=1)
    assert len(dataset) == 2 and dataset.horizon == 60
    td = dataset[0]
    assert td.batch_size == torch.Size([12 * 60])
    actions = td.get(K.ACTION)
    assert actions.shape == (720, 5) and torch.equal(actions.sum(-1), torch.ones(720))  # one-hot
    family = meta.task_family("gridworld")
    task = td.get(TASK)
    expected = torch.as_tensor(family.reward(task, td.get(K.OBS), actions.argmax(-1, keepdim=True),
                                             td.get(K.NEXT_OBS)), dtype=torch.float32)
    torch.testing.assert_close(td.get(K.REWARD).reshape(-1), expected)  # stored rewards are the task's
    assert torch.equal(td.get(GOAL_REACHED).reshape(-1), td.get(K.NEXT_OBS).eq(task).all(-1))
    # the noise falls over the meta-episodes: the last ones reach the goal far more often than the first
    hits = td.get(GOAL_REACHED).reshape(12, 60).float().mean(-1)
    assert hits[-3:].mean() > hits[:3].mean() + 0.2
    # written atomically as the original's folders and read back identically
    loaded = load_task_folders(tmp_path / "grid", 15, 4)
    assert loaded.names == dataset.names and loaded.names[0].startswith("seed_0_goal_")
    assert torch.equal(loaded[1].get(K.OBS), dataset[1].get(K.OBS))


POINT_OPTIONS = dict(episode_length=60, episodes_per_task=2, meta_episodes=3, seed=7, env_kwargs={"random_start": True})


def test_each_task_depends_only_on_the_seed_and_its_index():
    """What makes the data independent of the process layout: shards share no state, so any order gives the same."""
    family = meta.task_family("point_robot_sparse")
    tasks = family.sample_tasks(3, np.random.default_rng(0))
    serial = collect_meta_dataset(family, tasks, workers=1, **POINT_OPTIONS)
    options = {k: v for k, v in POINT_OPTIONS.items() if k != "seed"}
    for i in (2, 0, 1):
        arrays = _collect_shard(i, 7, lambda n: None, family=family, tasks=tasks, agent="scripted", **options)
        assert torch.equal(serial[i].get(K.OBS), torch.from_numpy(arrays["obs"]))
        assert torch.equal(serial[i].get(K.ACTION), torch.from_numpy(arrays["actions"]))
    other_seed = collect_meta_dataset(family, tasks, workers=1, **{**POINT_OPTIONS, "seed": 8})
    assert not torch.equal(other_seed[0].get(K.OBS), serial[0].get(K.OBS))
    # the data-collection start: the first observation of every episode is spread over the start box
    starts = serial[0].get(K.OBS)[serial[0].get(K.STEP) == 0]
    assert starts.shape == (6, 2) and starts[:, 0].std() > 0.2


@pytest.mark.slow  # worker processes start by spawn and import torch: ~5 s each on a loaded 2-core box
def test_point_robot_collection_is_independent_of_the_number_of_processes():
    family = meta.task_family("point_robot_sparse")
    tasks = family.sample_tasks(2, np.random.default_rng(0))
    options = {**POINT_OPTIONS, "meta_episodes": 1}
    serial = collect_meta_dataset(family, tasks, workers=1, **options)
    parallel = collect_meta_dataset(family, tasks, workers=2, **options)
    for a, b in zip(serial.data, parallel.data):
        assert (a == b).all()


def test_point_robot_relabelling_matches_the_envs_own_rewards():
    family = meta.task_family("point_robot_sparse")
    tasks = family.sample_tasks(3, np.random.default_rng(2))
    dataset = collect_meta_dataset(family, tasks, episode_length=60, episodes_per_task=2, meta_episodes=4,
                                   seed=0, env_kwargs={"random_start": True})
    out = reward_relabel(dataset, family, num_trajectories=4, seed=0)
    # replay every relabelled first episode in the target task's env from the same start: the env's rewards agree
    for i in range(3):
        env = family.make_env(tasks[i])
        for b in range(4):
            env.reset(seed=0)
            env.unwrapped._position = out["obs"][i, b, 0].double().numpy()
            rewards = [env.step(a.numpy())[1] for a in out["action"][i, b, :60]]
            torch.testing.assert_close(out["reward"][i, b, :60, 0], torch.tensor(rewards, dtype=torch.float32))


def test_noise_schedule_and_greedy_grid_moves():
    np.testing.assert_allclose(noise_schedule(4), [1.0, 0.7, 0.4, 0.1])
    assert _grid_greedy(np.array([0, 0]), np.array([3, 1])) == 2  # right
    assert _grid_greedy(np.array([3, 4]), np.array([3, 1])) == 3  # down
    assert _grid_greedy(np.array([3, 1]), np.array([3, 1])) == 0  # stay
    with pytest.raises(ValueError, match="unknown agent"):
        collect_meta_dataset(None, np.zeros((1, 1)), episode_length=1, episodes_per_task=1, meta_episodes=1,
                             agent="oracle")


def test_learned_dqn_agent_learns_the_grid_task():
    from rlkit.data.generators.meta_tasks_learned import settings_for

    family = meta.task_family("gridworld")
    tasks = family.sample_tasks(1, np.random.default_rng(0))
    settings = settings_for(family, epsilon_iters=4, lr=3e-3, updates_per_iter=150, batch_size=64)
    dataset = collect_meta_dataset(family, tasks, episode_length=15, episodes_per_task=4, meta_episodes=40,
                                   agent="learned", seed=0, learned_settings=settings)
    td = dataset[0]
    assert td.batch_size == torch.Size([40 * 60])  # the whole buffer, random rollouts included
    hits = td.get(GOAL_REACHED).reshape(40, 60).float().mean(-1)
    assert hits[:10].mean() < 0.1 and hits[-10:].mean() > 0.4


def test_learned_sac_agent_is_seeded_and_leaves_torchs_global_rng_alone():
    from rlkit.data.generators.meta_tasks_learned import settings_for

    family = meta.task_family("point_robot_sparse")
    tasks = family.sample_tasks(1, np.random.default_rng(0))
    settings = settings_for(family, init_rollouts=2, rollouts_per_iter=1, updates_per_iter=3, batch_size=16)
    options = dict(episode_length=60, episodes_per_task=2, meta_episodes=4, agent="learned", learned_settings=settings)
    torch.manual_seed(123)
    a = collect_meta_dataset(family, tasks, seed=0, **options)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)
    b = collect_meta_dataset(family, tasks, seed=0, **options)
    assert (a[0] == b[0]).all()
    actions = a[0].get(K.ACTION)
    assert actions.shape == (480, 2) and actions.abs().max() <= 1.0
    assert not torch.equal(actions[:240], actions[240:])  # random rollouts, then the policy's


def test_grid_relabelling_replaces_episodes_one_and_two_with_the_true_grid_reward():
    family = meta.task_family("gridworld")
    tasks = family.sample_tasks(3, np.random.default_rng(3))
    dataset = collect_meta_dataset(family, tasks, episode_length=15, episodes_per_task=4, meta_episodes=6, seed=0)
    out = reward_relabel(dataset, family, num_trajectories=6, seed=0)
    assert out["replaced"][..., :2].all() and not out["replaced"][..., 2:].any()
    goal = out["task"].unsqueeze(2)
    on_goal = out["next_obs"].eq(goal).all(-1, keepdim=True)
    torch.testing.assert_close(out["reward"], torch.where(on_goal, 1.0, -0.1))  # +1 on the TARGET goal, else -0.1


def test_policy_replay_in_wind_carries_the_target_tasks_dynamics():
    from rlkit.data.generators.meta_tasks import scripted_action
    from rlkit.data.meta_relabel import policy_replay

    family = meta.task_family("point_robot_wind")
    tasks = family.sample_tasks(3, np.random.default_rng(4))
    dataset = collect_meta_dataset(family, tasks, episode_length=25, episodes_per_task=2, meta_episodes=3, seed=0)
    rng = np.random.default_rng(0)

    def policy(task):
        return lambda obs: torch.tensor(np.stack([scripted_action(family, task, o, 0.3, rng) for o in obs.numpy()]))

    out = policy_replay(dataset, family, [policy(t) for t in tasks], num_trajectories=3, seed=0)
    drift = out["next_obs"] - out["obs"] - 0.1 * out["action"].clamp(-1, 1)
    for i in range(3):  # every step, replayed or not, moves with task i's wind
        torch.testing.assert_close(drift[i], torch.as_tensor(tasks[i], dtype=torch.float32).expand_as(drift[i]),
                                   atol=1e-5, rtol=0)


def test_command_line_writes_folders_and_refuses_to_overwrite(tmp_path, capsys):
    from rlkit.data.generators.meta_tasks import main

    out = tmp_path / "grid"
    argv = ["--env-type", "gridworld", "--num-tasks", "2", "--meta-episodes", "2", "--workers", "1", "--out", str(out)]
    main(argv)
    assert "wrote 2 task folders (240 transitions)" in capsys.readouterr().out
    assert len(load_task_folders(out, 15, 4)) == 2
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 1 and "exists" in capsys.readouterr().err
