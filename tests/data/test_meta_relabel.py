import pytest
import torch

from rlkit.data.errors import DatasetError
from rlkit.data.meta_relabel import original_semicircle_reward, policy_replay, reward_relabel
from rlkit.data.task_folders import MetaDataset
from tests.data.meta_toy import GOALS, ToyFamily, toy_dataset


def owner_of(dataset, actions):
    """(task, trajectory) of the stored data holding exactly this action sequence at these steps, or None."""
    for i in range(len(dataset)):
        traj = dataset.trajectories(i)["action"]
        for k in range(traj.shape[0]):
            for start in range(0, traj.shape[1] - actions.shape[0] + 1, 5):
                if torch.equal(traj[k, start:start + actions.shape[0]], actions):
                    return i, k, start
    return None


def test_relabelled_rewards_are_the_target_tasks_true_rewards():
    dataset = toy_dataset()
    out = reward_relabel(dataset, ToyFamily, num_trajectories=8, seed=3)
    assert out.batch_size == torch.Size([3, 8])
    assert out["obs"].shape == (3, 8, 10, 1) and out["reward"].shape == (3, 8, 10, 1)
    assert out["task"].shape == (3, 8, 1) and out["source_task"].shape == (3, 8, 2)
    task = out["task"].unsqueeze(2).expand(3, 8, 10, 1)
    expected = ToyFamily.reward(task, out["obs"], out["action"], out["next_obs"]).unsqueeze(-1)
    torch.testing.assert_close(out["reward"], expected.float())
    hits = ToyFamily.success(task, out["next_obs"]).unsqueeze(-1)
    assert torch.equal(out["goal_reached"], hits)
    # a first episode that reaches another task's goal is rewarded only if it also reaches the target's
    assert out["replaced"][:, :, 0].all() and not out["replaced"][:, :, 1].any()


def test_first_episode_comes_from_another_task_and_second_from_the_target():
    dataset = toy_dataset()
    out = reward_relabel(dataset, ToyFamily, num_trajectories=6, seed=0)
    for i in range(3):
        for b in range(6):
            first = owner_of(dataset, out["action"][i, b, :5])
            second = owner_of(dataset, out["action"][i, b, 5:])
            assert first is not None and second is not None
            assert first[0] != i and first[0] == out["source_task"][i, b, 0] and first[2] == 0
            assert second[0] == i and second[2] == 5
            traj = dataset.trajectories(first[0])
            assert torch.equal(out["obs"][i, b, :5], traj["obs"][first[1], :5])
            assert torch.equal(out["done"][i, b, :, 0], torch.tensor([0, 0, 0, 0, 1] * 2, dtype=torch.bool))


def test_donor_tasks_are_uniform_over_the_others():
    dataset = toy_dataset()
    out = reward_relabel(dataset, ToyFamily, num_trajectories=3000, seed=5)
    donors = out["source_task"][0, :, 0]
    assert set(donors.unique().tolist()) == {1, 2}
    assert abs((donors == 1).float().mean().item() - 0.5) < 0.04
    # base trajectories are drawn with replacement, uniformly over the task's 6 trajectories
    owners = torch.tensor([owner_of(dataset, a)[1] for a in out["action"][1, :600, 5:]])
    counts = torch.bincount(owners, minlength=6).float() / 600
    assert torch.all((counts - 1 / 6).abs() < 0.06)


def test_four_episode_domains_replace_episodes_one_and_two_independently():
    dataset = toy_dataset(episodes_per_task=4, meta_episodes=(3, 3, 3))
    out = reward_relabel(dataset, ToyFamily, num_trajectories=200, seed=1)
    assert out["obs"].shape == (3, 200, 20, 1)
    assert out["replaced"][..., :2].all() and not out["replaced"][..., 2:].any()
    source = out["source_task"]
    assert (source[..., :2] != torch.arange(3).view(3, 1, 1)).all()
    assert (source[..., 2:] == torch.arange(3).view(3, 1, 1)).all()
    assert (source[..., 0] != source[..., 1]).any()  # independent draws
    for b in range(5):
        episode_two = owner_of(dataset, out["action"][2, b, 5:10])
        assert episode_two[0] == source[2, b, 1] and episode_two[2] == 5


def test_seeded_determinism_and_fraction():
    dataset = toy_dataset()
    a = reward_relabel(dataset, ToyFamily, seed=11)
    b = reward_relabel(dataset, ToyFamily, seed=11)
    c = reward_relabel(dataset, ToyFamily, seed=12)
    assert a.batch_size == torch.Size([3, 4])  # default: the fewest trajectories any task has
    assert (a == b).all()
    assert not torch.equal(a["action"], c["action"])
    none = reward_relabel(dataset, ToyFamily, fraction=0.0, seed=11)
    assert not none["replaced"].any() and (none["source_task"] == torch.arange(3).view(3, 1, 1)).all()
    for i in range(3):
        for b in range(4):
            assert owner_of(dataset, none["action"][i, b])[0] == i
    half = reward_relabel(dataset, ToyFamily, fraction=0.5, num_trajectories=2000, seed=2)
    assert abs(half["replaced"][..., 0].float().mean().item() - 0.5) < 0.03


def test_partly_replaced_four_episode_trajectories_keep_track_of_every_episodes_source():
    dataset = toy_dataset(episodes_per_task=4, meta_episodes=(3, 3, 3))
    out = reward_relabel(dataset, ToyFamily, fraction=0.5, num_trajectories=12, seed=6)
    replaced = out["replaced"]
    assert (replaced[..., 0] & ~replaced[..., 1]).any() and (~replaced[..., 0] & replaced[..., 1]).any()
    for i in range(3):
        for b in range(12):
            owners = [owner_of(dataset, out["action"][i, b, 5 * e:5 * e + 5]) for e in range(4)]
            assert [o[0] for o in owners] == out["source_task"][i, b].tolist()
            assert [o[2] for o in owners] == [0, 5, 10, 15]
            assert len({o[1] for o, r in zip(owners, replaced[i, b].tolist()) if not r}) == 1


def test_original_semicircle_reward_reproduces_bug_one():
    task = torch.tensor([[0.0, 1.0]])
    next_obs = torch.tensor([[0.0, 0.9], [0.0, 0.5]])
    reward = original_semicircle_reward(task, next_obs, None, next_obs)
    torch.testing.assert_close(reward, torch.tensor([-0.1, 0.0]))


def test_errors():
    with pytest.raises(DatasetError, match=">= 2 tasks"):
        reward_relabel(toy_dataset(meta_episodes=(2,), goals=(0.1,)), ToyFamily)
    with pytest.raises(DatasetError, match=">= 2 episodes"):
        reward_relabel(toy_dataset(episodes_per_task=1, meta_episodes=(2, 2, 2)), ToyFamily)
    with pytest.raises(ValueError, match="fraction"):
        reward_relabel(toy_dataset(), ToyFamily, fraction=1.5)
    with pytest.raises(ValueError, match="one policy per task"):
        policy_replay(toy_dataset(), ToyFamily, [lambda obs: obs])


def toward(goal):
    return lambda obs: torch.clamp((goal - obs) * 10.0, -1.0, 1.0)


def test_policy_replay_runs_other_tasks_policies_in_the_target_task():
    dataset = toy_dataset()
    family = ToyFamily()
    policies = [toward(g) for g in GOALS]
    out = policy_replay(dataset, family, policies, num_trajectories=5, seed=4)
    assert out.batch_size == torch.Size([3, 5]) and out["obs"].shape == (3, 5, 10, 1)
    for i in range(3):
        for b in range(5):
            j = int(out["source_task"][i, b, 0])
            assert j != i
            obs, action = out["obs"][i, b, :5], out["action"][i, b, :5]
            torch.testing.assert_close(action, policies[j](obs))  # donor j's policy acted
            torch.testing.assert_close(out["next_obs"][i, b, :5], obs + 0.1 * action)
            assert out["obs"][i, b, 0].item() == 0.0  # a fresh episode from the env's start
            reward = ToyFamily.reward(torch.tensor([GOALS[i]]), obs, action, out["next_obs"][i, b, :5])
            torch.testing.assert_close(out["reward"][i, b, :5, 0], reward.float())  # the target task's reward
            assert owner_of(dataset, out["action"][i, b, 5:])[0] == i  # the second episode is task i's own data
    again = policy_replay(dataset, family, policies, num_trajectories=5, seed=4)
    assert torch.equal(again["action"], out["action"])


def test_relabelled_data_can_be_saved_as_task_folders(tmp_path):
    from rlkit.data.task_folders import load_task_folders, save_task_folders

    dataset = toy_dataset()
    out = reward_relabel(dataset, ToyFamily, num_trajectories=3, seed=0)
    relabelled = MetaDataset.from_trajectories(list(out.unbind(0)), dataset.names, 5, 2)
    save_task_folders(relabelled, tmp_path / "rr")
    loaded = load_task_folders(tmp_path / "rr", 5, 2)
    for i in range(3):
        assert torch.equal(loaded.trajectories(i)["reward"], out["reward"][i])
        assert torch.equal(loaded.trajectories(i)["goal_reached"], out["goal_reached"][i])
