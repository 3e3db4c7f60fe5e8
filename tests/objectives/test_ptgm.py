import math

import pytest
import torch
import torch.nn.functional as F
from tensordict import TensorDict
from torch import nn

from rlkit.data.episode_index import EpisodeTable
from rlkit.data.errors import DatasetError
from rlkit.modules.codebook import GoalCodebook
from rlkit.modules.goal_prior import GaussianGoalPolicy
from rlkit.objectives.ptgm import GoalPriorLoss, LowLevelNLLLoss, goal_window_rows, sample_goal_windows

LENGTHS = [3, 15, 12]  # episodes 0, 1, 2 at rows 0-2, 3-17, 18-29


def _data() -> TensorDict:
    episode = torch.repeat_interleave(torch.arange(3), torch.tensor(LENGTHS))
    rows = torch.arange(30, dtype=torch.float32)
    observation = torch.stack([rows, -rows, 100 + rows], 1)  # every row's observation is unique
    return TensorDict({"observation": observation, "action": rows[:, None] * 0.5, "episode": episode},
                      batch_size=[30])


def _table() -> EpisodeTable:
    return EpisodeTable.from_episode_ids(_data()["episode"])


@pytest.mark.parametrize("weighting", ["uniform", "length"])
def test_goal_rows_lie_at_least_horizon_into_their_episode_with_the_chosen_weighting(weighting):
    state_rows, goal_rows = goal_window_rows(_table(), 70000, 10, episode_weighting=weighting,
                                             generator=torch.Generator().manual_seed(0))
    # episode 0 (3 steps) has none; episode 1 rows 13..17; episode 2 rows 28, 29
    eligible = [13, 14, 15, 16, 17, 28, 29]
    share = torch.bincount(goal_rows, minlength=30)[eligible].float() / 70000
    assert set(goal_rows.unique().tolist()) == set(eligible)
    # uniform: each usable episode 1/2, then uniform inside it; length: uniform over the 7 rows
    expected = torch.tensor([0.1] * 5 + [0.25] * 2) if weighting == "uniform" else torch.full((7,), 1 / 7)
    torch.testing.assert_close(share, expected, atol=0.006, rtol=0)
    torch.testing.assert_close(state_rows, goal_rows[:, None] + torch.arange(-10, 0))
    episode = _data()["episode"]
    assert bool((episode[state_rows] == episode[goal_rows][:, None]).all())  # never crosses an episode


def test_goal_windows_carry_the_goal_state_cut_to_goal_dims():
    batch = sample_goal_windows(_data(), _table(), 64, 10, goal_dims=[2, 0], generator=torch.Generator().manual_seed(1))
    assert batch.batch_size == torch.Size([64, 10])
    first_row = batch["observation"][:, 0, 0]  # = state row index g - 10
    goal_row = first_row + 10
    torch.testing.assert_close(batch["goal"], torch.stack([100 + goal_row, goal_row], -1)[:, None].expand(-1, 10, -1))
    torch.testing.assert_close(batch["observation"][..., 0], first_row[:, None] + torch.arange(10.0))
    torch.testing.assert_close(batch["action"][..., 0], batch["observation"][..., 0] * 0.5)
    assert torch.equal(batch["goal_distance"][0], torch.arange(10, 0, -1))


def test_goal_window_errors():
    with pytest.raises(DatasetError, match="no episode is longer than horizon=15"):
        goal_window_rows(_table(), 4, 15)
    with pytest.raises(ValueError, match="episode_weighting='steps'"):
        goal_window_rows(_table(), 4, 5, episode_weighting="steps")
    with pytest.raises(ValueError, match=r"goal_dims=\[3\].*last dim is 3"):
        sample_goal_windows(_data(), _table(), 4, goal_dims=[3])
    with pytest.raises(ValueError, match="rebuild the table"):
        sample_goal_windows(_data()[:20], _table(), 4)


class _FixedLogits(nn.Module):
    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(*obs.shape[:-1], -1)


def _book(codes: list[list[float]]) -> GoalCodebook:
    book = GoalCodebook(2, len(codes))
    book.codes = torch.tensor(codes)
    book.standardized_codes = torch.tensor(codes)
    book.fitted = torch.tensor(True)
    return book


def test_goal_prior_loss_is_cross_entropy_to_the_cosine_label():
    # codes (10, 0) and (1, 1): both metrics send goal (2, 3) to code 1; goal (4, 1) is nearer (1, 1) in Euclidean
    # distance (3 vs 6.08) but nearer (10, 0) in cosine (0.97 vs 0.86).
    book = _book([[10.0, 0.0], [1.0, 1.0]])
    goals = torch.tensor([[2.0, 3.0], [4.0, 1.0]])
    logits = torch.tensor([0.3, -0.2])
    loss = GoalPriorLoss(_FixedLogits(logits), book)
    assert loss.labels(goals).tolist() == [1, 0]
    assert GoalPriorLoss(_FixedLogits(logits), book, label_metric="codebook").labels(goals).tolist() == [1, 1]
    out = loss(TensorDict({"observation": torch.zeros(2, 4), "goal": goals}, batch_size=[2]))
    log_p = logits.log_softmax(0)
    torch.testing.assert_close(out["loss_goal_prior"], -(log_p[1] + log_p[0]) / 2)
    assert out["accuracy"] == 0.5  # argmax is code 0
    out["loss_goal_prior"].backward()
    assert loss.prior.logits.grad is not None


def test_goal_prior_loss_checks():
    with pytest.raises(ValueError, match="not fitted"):
        GoalPriorLoss(_FixedLogits(torch.zeros(2)), GoalCodebook(2, 2))
    with pytest.raises(ValueError, match="label_metric='l1'"):
        GoalPriorLoss(_FixedLogits(torch.zeros(2)), _book([[1.0, 0], [0, 1]]), label_metric="l1")
    loss = GoalPriorLoss(_FixedLogits(torch.zeros(3)), _book([[1.0, 0], [0, 1]]))
    with pytest.raises(ValueError, match=r"logits \(2, 3\); expected \(2, 2\)"):
        loss(TensorDict({"observation": torch.zeros(2, 4), "goal": torch.ones(2, 2)}, batch_size=[2]))
    with pytest.raises(KeyError, match="'goal'"):
        loss(TensorDict({"observation": torch.zeros(2, 4)}, batch_size=[2]))


def test_low_level_nll_by_hand_and_training_signal():
    policy = GaussianGoalPolicy(3, 2, 1, hidden=8).eval()
    head = policy.trunk.net[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([1.0, math.log(0.5)]))
    batch = TensorDict({"observation": torch.zeros(2, 5, 3), "goal": torch.zeros(2, 5, 2),
                        "action": torch.full((2, 5, 1), 2.0)}, batch_size=[2, 5])
    out = LowLevelNLLLoss(policy)(batch)
    expected = 0.5 * (1.0 / 0.5) ** 2 + math.log(0.5) + 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(out["loss_low_level"], torch.tensor(expected))
    torch.testing.assert_close(out["mse"], torch.tensor(1.0))
    out["loss_low_level"].backward()
    assert head.bias.grad is not None and bool(head.bias.grad.abs().sum() > 0)
    with pytest.raises(TypeError, match="neither"):
        LowLevelNLLLoss(nn.Linear(2, 2))


def test_low_level_nll_falls_back_to_log_prob():
    class OnlyLogProb(nn.Module):
        def log_prob(self, obs, goal, action):
            return -F.mse_loss(action, goal, reduction="none").sum(-1)

    batch = TensorDict({"observation": torch.zeros(3, 1), "goal": torch.ones(3, 2),
                        "action": torch.zeros(3, 2)}, batch_size=[3])
    out = LowLevelNLLLoss(OnlyLogProb())(batch)
    torch.testing.assert_close(out["loss_low_level"], torch.tensor(2.0))
