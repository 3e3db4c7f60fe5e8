import math

import pytest
import torch

from rlkit.objectives.gom_optim import make_gom_optimizer, rescale_gradients_, set_lr_, warmup_cosine_lr


def params_with_grads(scale: float) -> list[torch.nn.Parameter]:
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))
    a.grad = torch.tensor([3.0, 0.0, 0.0]) * scale
    b.grad = torch.tensor([[0.0, 4.0], [0.0, 0.0]]) * scale
    return [a, b]


def global_norm(params) -> float:
    return math.sqrt(sum(p.grad.square().sum().item() for p in params))


@pytest.mark.parametrize("scale", [0.01, 1.0, 10.0])
def test_normalize_always_rescales_to_norm_one(scale):
    params = params_with_grads(scale)
    before = rescale_gradients_(params, "normalize")
    assert before.item() == pytest.approx(5.0 * scale)
    assert global_norm(params) == pytest.approx(1.0, rel=1e-6)
    torch.testing.assert_close(params[0].grad, torch.tensor([0.6, 0.0, 0.0]))


def test_clip_only_shrinks():
    small = params_with_grads(0.01)
    rescale_gradients_(small, "clip")
    assert global_norm(small) == pytest.approx(0.05, rel=1e-4)  # untouched (up to the 1e-6 guard)
    large = params_with_grads(10.0)
    rescale_gradients_(large, "clip")
    assert global_norm(large) == pytest.approx(1.0, rel=1e-5)


def test_zero_gradient_stays_finite_and_bad_rule():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.zeros(2)
    rescale_gradients_([p], "normalize")
    assert torch.equal(p.grad, torch.zeros(2))
    with pytest.raises(ValueError, match="rule"):
        rescale_gradients_([p], "bogus")


def test_warmup_cosine_values():
    lr = lambda s: warmup_cosine_lr(torch.tensor(s), 3e-4, 500, 10_500).item()
    assert lr(0) == 0.0
    assert lr(250) == pytest.approx(1.5e-4)
    assert lr(500) == pytest.approx(3e-4)
    assert lr(5500) == pytest.approx(1.5e-4, rel=1e-4)
    assert lr(10_500) == pytest.approx(0.0, abs=1e-12) and lr(20_000) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        warmup_cosine_lr(torch.tensor(0), 3e-4, 500, 400)


def test_adamw_tensor_lr_and_decay_on_every_param():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optim = make_gom_optimizer([p], weight_decay=0.1)
    p.grad = torch.tensor([0.5, -0.5])
    optim.step()  # lr starts at 0: nothing moves (the original's first update)
    torch.testing.assert_close(p.detach(), torch.tensor([1.0, -2.0]))
    set_lr_(optim, torch.tensor(0.01))
    optim.step()
    # second Adam step with equal-sign gradients: m_hat / sqrt(v_hat) = sign(g); decay 0.1 on the weights
    expected = torch.tensor([1.0, -2.0]) * (1 - 0.01 * 0.1) - 0.01 * torch.tensor([1.0, -1.0])
    torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-6)
