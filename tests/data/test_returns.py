"""Returns-to-go per episode: vectorised results against a plain per-step loop and hand-computed values."""

import pytest
import torch

from rlkit.data.episode_index import EpisodeTable
from rlkit.data.returns import episode_returns, next_returns_to_go, returns_to_go


def naive_rtg(rewards: list[float], episode: list[int], gamma: float) -> list[float]:
    out = [0.0] * len(rewards)
    for i in reversed(range(len(rewards))):
        follows = i + 1 < len(rewards) and episode[i + 1] == episode[i]
        out[i] = rewards[i] + (gamma * out[i + 1] if follows else 0.0)
    return out


def random_episodes(seed: int, n: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ends = torch.rand(n, generator=g) < 0.04
    episode = torch.cat([torch.zeros(1, dtype=torch.int64), ends[:-1].long().cumsum(0)])
    return torch.randn(n, generator=g), episode


def test_hand_computed_two_episodes():
    rewards = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0])
    episode = torch.tensor([0, 0, 0, 1, 1])
    assert returns_to_go(rewards, episode).tolist() == [6.0, 5.0, 3.0, 30.0, 20.0]
    discounted = returns_to_go(rewards.unsqueeze(1), episode, gamma=0.5)
    assert discounted.tolist() == pytest.approx([1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0, 10 + 0.5 * 20, 20.0])
    assert episode_returns(rewards, episode).tolist() == [6.0, 30.0]


@pytest.mark.parametrize("gamma", [1.0, 0.99, 0.5, 0.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_naive_loop(gamma, seed):
    rewards, episode = random_episodes(seed)
    expected = torch.tensor(naive_rtg(rewards.tolist(), episode.tolist(), gamma), dtype=torch.float64)
    torch.testing.assert_close(returns_to_go(rewards, episode, gamma=gamma), expected)
    table = EpisodeTable.from_episode_ids(episode)
    torch.testing.assert_close(returns_to_go(rewards, table, gamma=gamma), expected)


def test_runs_of_equal_ids_are_episodes_even_if_ids_repeat_later():
    rewards = torch.ones(4)
    assert returns_to_go(rewards, torch.tensor([3, 3, 7, 3])).tolist() == [2.0, 1.0, 1.0, 1.0]


def test_long_discounted_episode_does_not_overflow():
    rewards = torch.ones(5000)
    rtg = returns_to_go(rewards, torch.zeros(5000, dtype=torch.int64), gamma=0.9)
    assert torch.isfinite(rtg).all()
    assert rtg[0].item() == pytest.approx((1 - 0.9**5000) / (1 - 0.9))
    assert rtg[-1].item() == 1.0


def test_next_returns_to_go_shift_within_episode():
    rtg = torch.tensor([[6.0], [5.0], [3.0], [30.0], [20.0]])
    nxt = next_returns_to_go(rtg, torch.tensor([0, 0, 0, 1, 1]))
    assert nxt.shape == rtg.shape
    assert nxt.squeeze(1).tolist() == [5.0, 3.0, 0.0, 20.0, 0.0]


def test_bad_input():
    with pytest.raises(ValueError, match="expected \\(N,\\) or \\(N, 1\\)"):
        returns_to_go(torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="rows"):
        returns_to_go(torch.zeros(3), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="gamma"):
        returns_to_go(torch.zeros(3), torch.zeros(3, dtype=torch.int64), gamma=1.5)
