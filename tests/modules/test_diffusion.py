import math

import pytest
import torch

from rlkit.modules.diffusion import VPSchedule, ddim_sample, ddim_step


def small_schedule() -> VPSchedule:
    return VPSchedule(num_timesteps=4, beta_min=0.1, beta_max=0.4)  # abar = .9, .72, .504, .3024


def test_schedule_values():
    s = small_schedule()
    torch.testing.assert_close(s.betas, torch.tensor([0.1, 0.2, 0.3, 0.4]))
    torch.testing.assert_close(s.alphas_cumprod, torch.tensor([0.9, 0.72, 0.504, 0.3024]))
    default = VPSchedule()
    assert default.betas[0].item() == pytest.approx(1e-4) and default.betas[-1].item() == pytest.approx(0.02)
    expected_last = math.prod(1 - (1e-4 + i * (0.02 - 1e-4) / 999) for i in range(1000))
    assert default.alphas_cumprod[-1].item() == pytest.approx(expected_last, rel=1e-4)


def test_noising_uses_float_label_and_floored_index():
    s = small_schedule()
    x0, z = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.5], [-1.0]])
    x_t, label = s.noise(x0, torch.tensor([0.6, 0.99]), z)
    torch.testing.assert_close(label, torch.tensor([2.4, 3.96]))
    expected = torch.tensor([[math.sqrt(0.504) * 1 + math.sqrt(0.496) * 0.5],
                             [math.sqrt(0.3024) * 2 - math.sqrt(0.6976)]])
    torch.testing.assert_close(x_t, expected)


def test_ddim_table_index_conventions():
    table = small_schedule().ddim_table(2)  # indices 4 (clamped to 3), 2; previous 2, 0
    torch.testing.assert_close(table.labels, torch.tensor([4.0, 2.0]))
    torch.testing.assert_close(table.sqrt_abar ** 2, torch.tensor([0.3024, 0.504]))
    torch.testing.assert_close(table.sqrt_abar_prev ** 2, torch.tensor([0.504, 0.9]))
    default = VPSchedule().ddim_table(50)
    assert default.labels[:3].tolist() == [1000.0, 980.0, 960.0] and default.labels[-1].item() == 20.0
    ab = VPSchedule().alphas_cumprod
    assert default.sqrt_abar[0].item() == pytest.approx(ab[999].sqrt().item())
    assert default.sqrt_abar_prev[-1].item() == pytest.approx(ab[0].sqrt().item())  # abar[0] = 0.9999


def test_ddim_step_by_hand():
    table = small_schedule().ddim_table(2)
    x, eps = torch.tensor([0.5]), torch.tensor([0.2])
    x0 = (0.5 - math.sqrt(0.6976) * 0.2) / math.sqrt(0.3024)
    expected = math.sqrt(0.504) * x0 + math.sqrt(0.496) * 0.2
    assert ddim_step(eps, x, table.rows()[0]).item() == pytest.approx(expected, rel=1e-6)
    # x0 clipped to 1, plain step keeps the model's eps
    x = torch.tensor([0.9])
    x0 = min((0.9 - math.sqrt(0.6976) * 0.2) / math.sqrt(0.3024), 1.0)
    assert x0 == 1.0
    expected = math.sqrt(0.504) + math.sqrt(0.496) * 0.2
    assert ddim_step(eps, x, table.rows()[0]).item() == pytest.approx(expected, rel=1e-6)
    # guidance: eps -= sqrt(1 - abar) g, then eps re-derived from the clipped x0
    g = torch.tensor([-1.0])
    eps_g = 0.2 + math.sqrt(0.6976)
    x0 = max(min((0.9 - math.sqrt(0.6976) * eps_g) / math.sqrt(0.3024), 1.0), -1.0)
    eps_re = (0.9 - math.sqrt(0.3024) * x0) / math.sqrt(0.6976)
    expected = math.sqrt(0.504) * x0 + math.sqrt(0.496) * eps_re
    assert ddim_step(eps, x, table.rows()[0], guidance=g).item() == pytest.approx(expected, rel=1e-6)


def test_sampler_with_zero_eps_by_hand_and_labels_seen():
    s = small_schedule()
    seen = []

    def denoise(x, label):
        seen.append(label.item())
        return torch.zeros_like(x)

    out = ddim_sample(denoise, s, torch.tensor([0.3, -0.9]), steps=2)
    assert seen == [4.0, 2.0]
    x = torch.tensor([0.3, -0.9])
    x = math.sqrt(0.504) * (x / math.sqrt(0.3024)).clamp(-1, 1)
    x = math.sqrt(0.9) * (x / math.sqrt(0.504)).clamp(-1, 1)
    torch.testing.assert_close(out, x)


def test_sampler_deterministic_given_noise_and_no_grad():
    s = VPSchedule()
    weight = torch.randn(3, 3, requires_grad=True)
    denoise = lambda x, label: torch.tanh(x @ weight * (label / 1000))
    noise = torch.randn(5, 3)
    a, b = ddim_sample(denoise, s, noise, steps=10), ddim_sample(denoise, s, noise.clone(), steps=10)
    assert torch.equal(a, b) and not a.requires_grad
    assert not torch.allclose(ddim_sample(denoise, s, torch.randn(5, 3), steps=10), a)


def test_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        VPSchedule().ddim_table(0)
    with pytest.raises(ValueError, match="beta_min"):
        VPSchedule(beta_min=0.5, beta_max=0.1)
