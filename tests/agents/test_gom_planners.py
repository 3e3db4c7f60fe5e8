import numpy as np
import pytest
import torch

from rlkit.agents.gom_planners import (
    GOMActor,
    GuidedDiffusionPlanner,
    RandomShootingPlanner,
    guidance_vector,
)


class TableSampler:
    """Returns fixed outcomes per state, so which ones a planner picks is known by hand."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table  # (B, n, d)
        self.calls: list[tuple[int, torch.Tensor | None]] = []

    def __call__(self, obs, num_samples, guidance):
        self.calls.append((num_samples, guidance))
        assert num_samples == self.table.shape[1] or num_samples == 1
        return self.table[: obs.shape[0], :num_samples]


def test_random_shooting_picks_highest_value_sample_per_state():
    # values with w = (1, 0, 2): state 0 -> [1, 7, 3], state 1 -> [4, 0, 2]
    table = torch.tensor(
        [
            [[1.0, 5.0, 0.0], [1.0, -1.0, 3.0], [3.0, 9.0, 0.0]],
            [[0.0, 0.0, 2.0], [0.0, 8.0, 0.0], [2.0, 1.0, 0.0]],
        ]
    )
    sampler = TableSampler(table)
    planner = RandomShootingPlanner(sampler, torch.tensor([1.0, 0.0, 2.0]), num_samples=3, num_elites=1)
    psi = planner(torch.zeros(2, 4))
    torch.testing.assert_close(psi, torch.stack([table[0, 1], table[1, 0]]))
    assert sampler.calls[0] == (3, None)


def test_random_shooting_elites_are_averaged():
    table = torch.tensor([[[1.0, 0.0], [3.0, 10.0], [2.0, -4.0], [0.0, 0.0]]])
    planner = RandomShootingPlanner(TableSampler(table), torch.tensor([1.0, 0.0]), num_samples=4, num_elites=2)
    torch.testing.assert_close(planner(torch.zeros(1, 2)), torch.tensor([[2.5, 3.0]]))  # mean of the 3.0 and 2.0 rows


def test_score_override_changes_the_choice():
    class Lowest(RandomShootingPlanner):
        def score(self, psis):
            return -(psis @ self.w)

    table = torch.tensor([[[1.0], [5.0], [-2.0]]])
    planner = Lowest(TableSampler(table), torch.tensor([1.0]), num_samples=3)
    torch.testing.assert_close(planner(torch.zeros(1, 3)), torch.tensor([[-2.0]]))


def test_w_can_be_replaced_after_construction_and_dense_kernels_are_flattened():
    table = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    planner = RandomShootingPlanner(TableSampler(table), torch.tensor([[1.0], [0.0]]), num_samples=2)
    torch.testing.assert_close(planner(torch.zeros(1, 1)), torch.tensor([[1.0, 0.0]]))
    planner.w = torch.tensor([0.0, 1.0])
    torch.testing.assert_close(planner(torch.zeros(1, 1)), torch.tensor([[0.0, 1.0]]))


def test_random_shooting_is_vectorised_over_a_large_batch():
    gen = torch.Generator().manual_seed(0)
    table = torch.randn(64, 100, 5, generator=gen)
    w = torch.randn(5, generator=gen)
    psi = RandomShootingPlanner(TableSampler(table), w, num_samples=100)(torch.zeros(64, 2))
    expected = table[torch.arange(64), (table @ w).argmax(dim=1)]
    torch.testing.assert_close(psi, expected)


def test_guidance_vector_formula():
    w = torch.tensor([2.0, -1.0, 0.5])
    psi_min = torch.tensor([-100.0, 0.0, 10.0])
    psi_max = torch.tensor([100.0, 50.0, 30.0])
    g = guidance_vector(w, psi_min, psi_max, coef=0.1)
    # w * 0.5 * range * coef = (2*0.5*200*0.1, -1*0.5*50*0.1, 0.5*0.5*20*0.1)
    torch.testing.assert_close(g, torch.tensor([20.0, -2.5, 0.5]))


def test_guided_planner_passes_guidance_and_returns_the_one_sample():
    table = torch.tensor([[[4.0, 5.0]], [[6.0, 7.0]]])
    sampler = TableSampler(table)
    planner = GuidedDiffusionPlanner(sampler, torch.tensor([1.0, 2.0]), torch.zeros(2), torch.full((2,), 4.0), 0.5)
    psi = planner(torch.zeros(2, 3))
    torch.testing.assert_close(psi, table[:, 0])
    num_samples, guidance = sampler.calls[0]
    assert num_samples == 1
    torch.testing.assert_close(guidance, torch.tensor([1.0, 2.0]))  # w * 0.5 * 4 * 0.5


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="psi_min"):
        GuidedDiffusionPlanner(TableSampler(torch.zeros(1, 1, 3)), torch.ones(3), torch.zeros(2), torch.ones(2))
    planner = RandomShootingPlanner(TableSampler(torch.zeros(1, 4, 3)), torch.ones(2), num_samples=4)
    with pytest.raises(ValueError, match=r"expected \(batch, num_samples, d\)"):
        planner(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="num_elites"):
        RandomShootingPlanner(TableSampler(torch.zeros(1, 4, 3)), torch.ones(3), num_samples=4, num_elites=5)
    with pytest.raises(ValueError, match="reward weights"):
        RandomShootingPlanner(TableSampler(torch.zeros(1, 4, 3)), torch.ones(3, 3), num_samples=4)


def _actor(obs_dim=3):
    def planner(obs):
        return obs.sum(dim=1, keepdim=True).repeat(1, 4)  # psi (B, 4)

    def action_sampler(obs, psi):
        assert psi.shape == (obs.shape[0], 4)
        assert not torch.is_grad_enabled()
        return torch.stack([psi[:, 0], -psi[:, 0]], dim=1)

    return GOMActor(planner, action_sampler, obs_dim=obs_dim)


def test_actor_single_and_batched_numpy_and_torch():
    actor = _actor()
    single = actor(np.array([1.0, 2.0, 3.0]))
    assert isinstance(single, np.ndarray) and single.dtype == np.float32 and single.shape == (2,)
    np.testing.assert_allclose(single, [6.0, -6.0])
    batch = actor(np.arange(6, dtype=np.float64).reshape(2, 3))
    assert batch.shape == (2, 2)
    np.testing.assert_allclose(batch, [[3.0, -3.0], [12.0, -12.0]])
    as_tensor = actor(torch.ones(5, 3))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.shape == (5, 2)


def test_actor_rejects_wrong_observation_size():
    with pytest.raises(ValueError, match="obs_dim=3"):
        _actor()(np.zeros((2, 4)))
