"""TrajectoryReplay: FIFO in whole trajectories, length-proportional sampling, window contents, offline start."""

import numpy as np
import pytest
import torch

from rlkit.data import window_keys as W
from rlkit.data.errors import DatasetError
from rlkit.data.layout import transitions_from_arrays
from rlkit.data.trajectory_replay import TrajectoryReplay, offline_state_statistics


def trajectories(lengths, *, first_tag=0, rewards=None, terminal_last=False):
    """Trajectories whose observation is (tag, step): tag = first_tag + index, so a row tells where it came from."""
    obs, nxt, term, trunc = [], [], [], []
    for i, length in enumerate(lengths):
        steps = np.arange(length, dtype=np.float32)
        obs.append(np.stack([np.full(length, first_tag + i, np.float32), steps], axis=1))
        nxt.append(np.stack([np.full(length, first_tag + i, np.float32), steps + 1], axis=1))
        end = np.zeros(length, bool)
        end[-1] = True
        term.append(end & terminal_last)
        trunc.append(end & (not terminal_last))
    obs = np.concatenate(obs)
    n = obs.shape[0]
    rewards = np.ones(n, np.float32) if rewards is None else np.asarray(rewards, np.float32)
    actions = (obs[:, :1] / 100.0).astype(np.float32)
    return transitions_from_arrays(
        obs, actions, rewards, np.concatenate(term), np.concatenate(trunc), next_observations=np.concatenate(nxt)
    )


def make_replay(capacity=10, context_length=4, reward_scale=1.0, mean=(0.0, 0.0), std=(1.0, 1.0), **kwargs):
    return TrajectoryReplay(
        capacity, context_length=context_length, reward_scale=reward_scale, state_mean=mean, state_std=std, **kwargs
    )


def stored_tags(replay):
    obs = replay.data.get("observation")[:, 0] * replay.state_std[0] + replay.state_mean[0]
    return torch.unique_consecutive(obs.round()).long().tolist()


def windows_by_end_step(batch):
    """One sampled window for each step its last position ends at, keyed by that step."""
    out = {}
    for i in range(batch.batch_size[0]):
        out.setdefault(int(batch.get(W.TIMESTEP)[i, -1]), batch[i])
    return out


def test_window_contents_hand_computed():
    # one trajectory, rewards 1, 2, 3; reward_scale 0.5 -> RTG 3.0, 2.5, 1.5; states normalised by mean/std
    replay = make_replay(context_length=4, reward_scale=0.5, mean=(1.0, 0.5), std=(2.0, 4.0))
    replay.add_trajectories(trajectories([3], first_tag=5, rewards=[1.0, 2.0, 3.0]))
    windows = windows_by_end_step(replay.sample(64, generator=torch.Generator().manual_seed(0)))
    assert sorted(windows) == [0, 1, 2]

    w = windows[1]  # ends at step 1: two padded positions, then steps 0 and 1
    assert w.get(W.MASK).tolist() == [False, False, True, True]
    assert w.get(W.TIMESTEP).tolist() == [0, 0, 0, 1]
    assert w.get(W.RTG).squeeze(-1).tolist() == [0.0, 0.0, 3.0, 2.5]
    assert w.get(W.NEXT_RTG).squeeze(-1).tolist() == [0.0, 0.0, 2.5, 1.5]
    assert w.get(("next", "reward")).squeeze(-1).tolist() == [0.0, 0.0, 1.0, 2.0]  # raw, not scaled
    expected_obs = [[0.0, 0.0], [0.0, 0.0], [(5 - 1) / 2, (0 - 0.5) / 4], [(5 - 1) / 2, (1 - 0.5) / 4]]
    assert w.get("observation").tolist() == expected_obs
    assert w.get(("next", "observation"))[-1].tolist() == [(5 - 1) / 2, (2 - 0.5) / 4]
    assert w.get("action").squeeze(-1).tolist() == pytest.approx([0.0, 0.0, 0.05, 0.05])

    w = windows[2]  # the trajectory's last step: next RTG 0 = RTG - r * scale
    assert w.get(W.RTG).squeeze(-1).tolist() == [0.0, 3.0, 2.5, 1.5]
    assert w.get(W.NEXT_RTG).squeeze(-1).tolist() == [0.0, 2.5, 1.5, 0.0]
    reward = w.get(("next", "reward")).squeeze(-1)
    torch.testing.assert_close(w.get(W.NEXT_RTG).squeeze(-1), w.get(W.RTG).squeeze(-1) - reward * 0.5)
    assert w.get(("next", "terminated")).dtype == torch.bool


def test_window_dtypes_and_shapes():
    replay = make_replay(context_length=3)
    replay.add_trajectories(trajectories([4, 2]))
    batch = replay.sample(5)
    assert batch.batch_size == torch.Size([5, 3])
    assert batch.get(W.RTG).shape == (5, 3, 1) and batch.get(W.NEXT_RTG).shape == (5, 3, 1)
    assert batch.get(W.TIMESTEP).dtype == torch.int64 and batch.get(W.MASK).dtype == torch.bool
    assert batch.get("observation").dtype == torch.float32 and batch.get("action").shape == (5, 3, 1)


def test_windows_never_mix_trajectories():
    replay = make_replay(context_length=5)
    replay.add_trajectories(trajectories([2, 7, 3, 1]))
    batch = replay.sample(400, generator=torch.Generator().manual_seed(1))
    tags = batch.get("observation")[..., 0]
    mask = batch.get(W.MASK)
    last = tags[:, -1:].expand_as(tags)
    assert torch.equal(tags[mask], last[mask])
    assert torch.equal(batch.get(W.TIMESTEP)[mask], batch.get("observation")[..., 1][mask].long())


def test_fifo_evicts_oldest_whole_trajectories():
    replay = make_replay(capacity=3)
    assert replay.add_trajectories(trajectories([2, 3], first_tag=0)) == 2
    assert stored_tags(replay) == [0, 1] and replay.num_steps == 5
    replay.add_trajectories(trajectories([4, 1], first_tag=2))
    assert stored_tags(replay) == [1, 2, 3]
    assert replay.trajectory_lengths.tolist() == [3, 4, 1] and replay.num_steps == 8
    assert replay.trajectory_ids.tolist() == [1, 2, 3]
    # a batch larger than the capacity keeps only its own last trajectories
    replay.add_trajectories(trajectories([1, 2, 3, 4, 5], first_tag=4))
    assert stored_tags(replay) == [6, 7, 8] and replay.num_trajectories == 3
    assert replay.trajectory_lengths.tolist() == [3, 4, 5] and replay.num_steps == 12
    assert replay.data.batch_size[0] == 12
    # windows come only from what is stored
    seen = replay.sample(300, generator=torch.Generator().manual_seed(0)).get("observation")[:, -1, 0]
    assert set(seen.long().tolist()) == {6, 7, 8}


def test_sampling_is_proportional_to_length():
    lengths = [1, 5, 10, 34]
    replay = make_replay(capacity=10, context_length=2)
    replay.add_trajectories(trajectories(lengths))
    n = 20_000
    batch = replay.sample(n, generator=torch.Generator().manual_seed(0))
    tags = batch.get("observation")[:, -1, 0].long()
    counts = torch.bincount(tags, minlength=4).double()
    expected = torch.tensor(lengths, dtype=torch.float64) / sum(lengths) * n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 16.27  # 99.9% quantile of chi-square with 3 degrees of freedom
    # the end step inside the longest trajectory is uniform (chi-square, 33 degrees of freedom, 99.9%: 63.87)
    ends = batch.get(W.TIMESTEP)[:, -1][tags == 3]
    step_counts = torch.bincount(ends, minlength=34).double()
    step_expected = ends.numel() / 34
    assert float(((step_counts - step_expected) ** 2 / step_expected).sum()) < 63.87
    # a wrong weighting (uniform over trajectories) would put ~25% on the 1-step trajectory instead of 2%
    assert abs(counts[0].item() / n - 1 / 50) < 0.005


def test_from_offline_keeps_top_return_trajectories_lowest_first():
    data = trajectories([2, 2, 2, 2, 2], rewards=[2, 3, 0, 1, 4, 5, 1, 2, 3, 4])  # returns 5, 1, 9, 3, 7
    replay = TrajectoryReplay.from_offline(data, 3, context_length=2, reward_scale=1.0)
    assert replay.trajectory_returns.tolist() == [5.0, 7.0, 9.0]
    assert stored_tags(replay) == [0, 4, 2]
    mean, std = offline_state_statistics(data.get("observation"))
    torch.testing.assert_close(replay.state_mean, mean)
    torch.testing.assert_close(replay.state_std, data.get("observation").std(0, correction=0) + 1e-6)
    assert std.shape == (2,)
    # RTGs restart per kept trajectory even though they were not neighbours in the file
    rtg = replay.data.get(W.RTG).squeeze(1).tolist()
    assert rtg == [5.0, 3.0, 7.0, 4.0, 9.0, 5.0]
    # the worst kept trajectory is evicted first
    replay.add_trajectories(trajectories([3], first_tag=9))
    assert replay.trajectory_returns.tolist() == [7.0, 9.0, 3.0]
    assert stored_tags(replay) == [4, 2, 9]


def test_from_offline_keeps_file_order_when_everything_fits():
    data = trajectories([1, 1, 1], rewards=[3, 1, 2])
    replay = TrajectoryReplay.from_offline(
        data, 5, context_length=1, reward_scale=1.0, state_mean=[0, 0], state_std=[1, 1]
    )
    assert stored_tags(replay) == [0, 1, 2]


def test_time_limit_as_terminal_marks_last_steps():
    data = trajectories([3, 2])
    replay = make_replay(time_limit_as_terminal=True)
    replay.add_trajectories(data)
    assert replay.data.get(("next", "terminated")).squeeze(1).tolist() == [False, False, True, False, True]
    replay = make_replay()
    replay.add_trajectories(data)
    assert not replay.data.get(("next", "terminated")).any()
    replay.add_trajectories(data, time_limit_as_terminal=True)
    assert replay.data.get(("next", "terminated")).squeeze(1).tolist()[5:] == [False, False, True, False, True]


def test_discounted_return_to_go():
    replay = make_replay(reward_scale=2.0, gamma=0.5)
    replay.add_trajectories(trajectories([3], rewards=[1.0, 2.0, 4.0]))
    assert replay.data.get(W.RTG).squeeze(1).tolist() == [2 * (1 + 1 + 1), 2 * (2 + 2), 2 * 4.0]
    assert replay.data.get(W.NEXT_RTG).squeeze(1).tolist() == [8.0, 8.0, 0.0]


def test_bad_reward_scale_and_bad_input():
    with pytest.raises(ValueError, match="reward_scale"):
        make_replay(reward_scale=0.0)
    with pytest.raises(ValueError, match="reward_scale"):
        make_replay(reward_scale=float("inf"))
    replay = make_replay(reward_scale=1e30)
    with pytest.raises(DatasetError, match="reward_scale=1e\\+30 makes the return-to-go non-finite"):
        replay.add_trajectories(trajectories([2], rewards=[1e10, 1e10]))
    assert replay.num_trajectories == 0  # nothing half-added
    with pytest.raises(DatasetError, match="expected \\(N, 3\\)"):
        make_replay(mean=(0, 0, 0), std=(1, 1, 1)).add_trajectories(trajectories([2]))
    with pytest.raises(ValueError, match="state_std"):
        make_replay(std=(1.0, 0.0))
    with pytest.raises(ValueError, match="context_length"):
        make_replay(context_length=0)
    with pytest.raises(RuntimeError, match="empty"):
        make_replay().sample(4)


def test_state_dict_round_trip(tmp_path):
    replay = make_replay(capacity=4, context_length=3, reward_scale=0.1, mean=(1.0, 2.0), std=(3.0, 4.0))
    replay.add_trajectories(trajectories([3, 5, 2]))
    replay.add_trajectories(trajectories([4, 1], first_tag=3))
    path = tmp_path / "replay.pt"
    torch.save(replay.state_dict(), path)
    restored = make_replay(capacity=4, context_length=3, reward_scale=0.1, mean=(1.0, 2.0), std=(3.0, 4.0))
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert restored.trajectory_ids.tolist() == replay.trajectory_ids.tolist() == [1, 2, 3, 4]
    a = replay.sample(32, generator=torch.Generator().manual_seed(3))
    b = restored.sample(32, generator=torch.Generator().manual_seed(3))
    assert (a == b).all()
    for r in (replay, restored):
        r.add_trajectories(trajectories([2], first_tag=5))
    assert restored.trajectory_ids.tolist() == replay.trajectory_ids.tolist() == [2, 3, 4, 5]
    assert (restored.data == replay.data).all()
    with pytest.raises(ValueError, match="reward_scale"):
        make_replay(capacity=4, reward_scale=1.0, mean=(1.0, 2.0), std=(3.0, 4.0)).load_state_dict(replay.state_dict())


def test_windows_carry_has_next_from_the_data():
    data = trajectories([3, 2])
    data["has_next"][2] = False  # the first trajectory ended by a time limit in a file without s'
    replay = make_replay(context_length=2)
    replay.add_trajectories(data)
    batch = replay.sample(400, generator=torch.Generator().manual_seed(0))
    ends_first = (batch["timestep"][:, -1] == 2) & batch["mask"][:, -1]
    assert ends_first.any()
    assert not batch["has_next"][ends_first, -1].any()
    assert batch["has_next"][~ends_first & batch["mask"][:, -1], -1].all()
