import numpy as np
import pytest
import torch

from rlkit.data import keys as K
from rlkit.data.errors import DatasetError
from rlkit.data.task_folders import (
    GOAL_REACHED,
    META_EPISODE,
    TASK,
    MetaDataset,
    default_task_names,
    from_trajectories,
    load_task_folders,
    parse_task_folder_name,
    read_task_folder,
    save_task_folders,
    task_folder_name,
    to_trajectories,
)
from tests.data.meta_toy import toy_rows, write_toy_folder

EPISODE, EPISODES = 5, 2  # toy meta-episodes: 2 episodes of 5 steps


def make_root(tmp_path, goals=(0.5, -0.25), meta_episodes=3):
    rng = np.random.default_rng(0)
    root = tmp_path / "toy"
    arrays = {}
    for seed, goal in enumerate(goals):
        name = task_folder_name([goal], seed)
        arrays[name] = toy_rows(goal, meta_episodes, rng)
        write_toy_folder(root / name, arrays[name])
    return root, arrays


def test_folder_names_follow_the_original_and_parse_back():
    assert task_folder_name([0.12345, -1]) == "goal_0.123_-1.0"
    assert task_folder_name(np.array(1.5), seed=73) == "seed_73_goal_1.5"
    assert task_folder_name([-0.0001]) == "goal_0.0"  # no "-0.0"
    np.testing.assert_array_equal(parse_task_folder_name("seed_73_goal_0.5_0.866"), [0.5, 0.866])
    np.testing.assert_array_equal(parse_task_folder_name("seed_1_goal_-1.2e-05"), [-1.2e-05])
    with pytest.raises(DatasetError, match="no 'goal_'"):
        parse_task_folder_name("seed_1")
    with pytest.raises(DatasetError, match="as numbers"):
        parse_task_folder_name("seed_1_goal_a_b")
    with pytest.raises(ValueError, match="share a folder name"):
        default_task_names(np.array([[0.1], [0.1]]), seeds=[1, 1])


def test_read_original_folder_into_the_layout(tmp_path):
    root, arrays = make_root(tmp_path)
    name = task_folder_name([0.5], 0)
    td = read_task_folder(root / name, EPISODE, EPISODES)
    raw = arrays[name]
    n = 30
    assert td.batch_size == torch.Size([n])
    torch.testing.assert_close(td.get(K.OBS), torch.from_numpy(raw["obs"]))
    torch.testing.assert_close(td.get(K.NEXT_OBS), torch.from_numpy(raw["next_obs"]))
    torch.testing.assert_close(td.get(K.REWARD), torch.from_numpy(raw["rewards"]))
    # goal hits are kept as infos, never as terminals (bug 4); episodes end every 5 rows by time limit
    assert not td.get(K.TERMINATED).any()
    assert torch.equal(td.get(GOAL_REACHED), torch.from_numpy(raw["terminals"] > 0))
    ends = torch.zeros(n, dtype=torch.bool)
    ends[4::5] = True
    assert torch.equal(td.get(K.TRUNCATED).reshape(n), ends)
    assert torch.equal(td.get(K.EPISODE), torch.arange(n) // 5)
    assert torch.equal(td.get(K.STEP), torch.arange(n) % 5)
    assert torch.equal(td.get(META_EPISODE), torch.arange(n) // 10)
    assert torch.equal(td.get(TASK), torch.full((n, 1), 0.5))


def test_terminals_can_be_real_terminals(tmp_path):
    root, arrays = make_root(tmp_path)
    name = task_folder_name([0.5], 0)
    td = read_task_folder(root / name, EPISODE, EPISODES, terminals_are_goal_hits=False)
    assert torch.equal(td.get(K.TERMINATED), torch.from_numpy(arrays[name]["terminals"] > 0))
    assert not (td.get(K.TERMINATED) & td.get(K.TRUNCATED)).any()


def test_bad_folders_name_the_file_and_what_was_expected(tmp_path):
    root, arrays = make_root(tmp_path)
    folder = root / task_folder_name([0.5], 0)
    (folder / "next_obs.npy").unlink()
    with pytest.raises(DatasetError, match=r"next_obs\.npy: missing"):
        read_task_folder(folder, EPISODE, EPISODES)
    (folder / "next_obs.npy").write_text("not an array")
    with pytest.raises(DatasetError, match=r"next_obs\.npy: not a readable"):
        read_task_folder(folder, EPISODE, EPISODES)
    np.save(folder / "next_obs.npy", arrays[folder.name]["next_obs"])
    np.save(folder / "rewards.npy", np.zeros((29, 1), np.float32))
    with pytest.raises(DatasetError, match="'rewards' has 29 rows; expected 30"):
        read_task_folder(folder, EPISODE, EPISODES)
    with pytest.raises(DatasetError, match="multiple of the meta-episode length 40"):
        read_task_folder(folder, EPISODE, 8)
    np.save(folder / "task.npy", np.array([0.6]))
    with pytest.raises(DatasetError, match="disagrees with the folder name"):
        read_task_folder(folder, EPISODE, EPISODES)
    with pytest.raises(DatasetError, match="no task folders"):
        load_task_folders(tmp_path / "toy" / folder.name, EPISODE, EPISODES)


def test_tasks_must_agree_in_dims(tmp_path):
    root, arrays = make_root(tmp_path)
    odd = root / task_folder_name([-0.25], 1)
    np.save(odd / "obs.npy", np.zeros((30, 2), np.float32))
    np.save(odd / "next_obs.npy", np.zeros((30, 2), np.float32))
    expected = r"seed_1_goal_-0\.25: 'observation' has per-row shape \(2,\); expected \(1,\)"
    with pytest.raises(DatasetError, match=expected):
        load_task_folders(root, EPISODE, EPISODES)


def test_time_major_files_are_read_in_trajectory_order(tmp_path):
    root, arrays = make_root(tmp_path, goals=(0.5,))
    folder = root / task_folder_name([0.5], 0)
    flat = read_task_folder(folder, EPISODE, EPISODES)
    for name, value in arrays[folder.name].items():  # (H, n_trajectories, dim), as the original's relabelled saves
        np.save(folder / f"{name}.npy", value.reshape(3, 10, -1).transpose(1, 0, 2))
    again = read_task_folder(folder, EPISODE, EPISODES)
    assert torch.equal(again.get(K.OBS), flat.get(K.OBS))
    assert torch.equal(again.get(GOAL_REACHED), flat.get(GOAL_REACHED))


def test_save_then_load_round_trips_exact_tasks(tmp_path):
    root, _ = make_root(tmp_path)
    dataset = load_task_folders(root, EPISODE, EPISODES)
    dataset.tasks[0] = 0.123456  # more decimals than the folder name keeps: task.npy keeps them
    dataset.data[0].set(TASK, torch.full((30, 1), 0.123456))
    with pytest.raises(DatasetError, match="disagrees with the folder name"):
        save_task_folders(dataset, tmp_path / "copy")
    dataset.names[0] = task_folder_name([0.123456], 0)
    out = tmp_path / "copy"
    paths = save_task_folders(dataset, out)
    assert [p.name for p in paths] == dataset.names
    assert sorted(p.name for p in out.iterdir()) == sorted(dataset.names)  # no temporary left behind
    loaded = load_task_folders(out, EPISODE, EPISODES)
    assert loaded.names == dataset.names
    torch.testing.assert_close(loaded.tasks, dataset.tasks)
    for a, b in zip(loaded.data, dataset.data):
        for key in (K.OBS, K.ACTION, K.REWARD, K.NEXT_OBS, K.DONE, GOAL_REACHED, TASK, META_EPISODE):
            assert torch.equal(a.get(key), b.get(key)), key


def test_save_is_all_or_nothing(tmp_path):
    root, _ = make_root(tmp_path)
    dataset = load_task_folders(root, EPISODE, EPISODES)
    out = tmp_path / "out"
    dataset.names[1] = "not-a-task-name"
    with pytest.raises(DatasetError, match="not-a-task-name"):
        save_task_folders(dataset, out)
    assert list(tmp_path.iterdir()) == [root]  # neither out nor a temporary folder exists
    dataset.names[1] = task_folder_name([-0.25], 1)
    save_task_folders(dataset, out)
    with pytest.raises(FileExistsError):
        save_task_folders(dataset, out)
    dataset.data[0].get(K.REWARD).fill_(7.0)
    save_task_folders(dataset, out, overwrite=True)
    assert np.all(np.load(out / dataset.names[0] / "rewards.npy") == 7.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "toy"]


def test_trajectories_cut_rows_into_meta_episodes_and_back(tmp_path):
    root, _ = make_root(tmp_path)
    dataset = load_task_folders(root, EPISODE, EPISODES)
    assert dataset.horizon == 10 and dataset.num_trajectories() == [3, 3] and dataset.task_dim == 1
    flat = dataset[1]
    traj = dataset.trajectories(1)
    assert traj.batch_size == torch.Size([3])
    assert traj["obs"].shape == (3, 10, 1) and traj["reward"].shape == (3, 10, 1) and traj["task"].shape == (3, 1)
    assert torch.equal(traj["obs"][2, 7], flat.get(K.OBS)[27])
    assert torch.equal(traj["next_obs"][1, 3], flat.get(K.NEXT_OBS)[13])
    assert torch.equal(traj["done"][0, :, 0], torch.tensor([0, 0, 0, 0, 1, 0, 0, 0, 0, 1], dtype=torch.bool))
    assert torch.equal(traj["task"], torch.full((3, 1), -0.25))
    back = from_trajectories(traj)
    for key in (K.OBS, K.ACTION, K.REWARD, K.NEXT_OBS, K.DONE, K.TERMINATED, K.EPISODE, GOAL_REACHED, TASK):
        assert torch.equal(back.get(key), flat.get(key)), key
    with pytest.raises(DatasetError, match="do not split into trajectories of 7"):
        to_trajectories(flat, 7)
    rebuilt = MetaDataset.from_trajectories([dataset.trajectories(0), traj], dataset.names, EPISODE, EPISODES)
    torch.testing.assert_close(rebuilt.tasks, dataset.tasks)


def test_subset_keeps_the_chosen_tasks_in_order_and_rejects_bad_indices(tmp_path):
    root, _ = make_root(tmp_path, goals=(0.5, -0.25, 0.75))
    dataset = load_task_folders(root, EPISODE, EPISODES)
    part = dataset.subset([2, 0])
    assert part.names == [dataset.names[2], dataset.names[0]] and len(part) == 2
    torch.testing.assert_close(part.tasks, dataset.tasks[[2, 0]])
    assert part.data[0] is dataset.data[2] and part.horizon == dataset.horizon
    for bad in ([], [3], [0, 0], [-1]):
        with pytest.raises(IndexError, match="must be distinct and in \\[0, 2\\]"):
            dataset.subset(bad)
