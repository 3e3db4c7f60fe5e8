import math

import pytest
import torch

from rlkit.objectives import (
    DT_GRAD_CLIP_NORM,
    Lamb,
    clip_dt_grad_,
    make_critic_optimizer,
    make_dt_optimizer,
    make_temperature_optimizer,
    warmup_lambda,
)


def _lamb_by_hand(p, grads, lr, betas, eps, weight_decay, bias_correction=False):
    """Scalar-by-scalar LAMB for a 1-D tensor, straight from the update rule."""
    p = [float(x) for x in p]
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    for step, g in enumerate(grads, start=1):
        m = [betas[0] * mi + (1 - betas[0]) * gi for mi, gi in zip(m, g)]
        v = [betas[1] * vi + (1 - betas[1]) * gi * gi for vi, gi in zip(v, g)]
        if bias_correction:
            mh = [mi / (1 - betas[0] ** step) for mi in m]
            vh = [vi / (1 - betas[1] ** step) for vi in v]
        else:
            mh, vh = m, v
        u = [mi / (math.sqrt(vi) + eps) + weight_decay * pi for mi, vi, pi in zip(mh, vh, p)]
        w_norm = min(math.sqrt(sum(x * x for x in p)), 10.0)
        u_norm = math.sqrt(sum(x * x for x in u))
        trust = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        p = [pi - lr * trust * ui for pi, ui in zip(p, u)]
    return p


@pytest.mark.parametrize("bias_correction", [False, True])
def test_lamb_matches_a_hand_computed_update(bias_correction):
    start = [3.0, 4.0]
    grads = [[1.0, -2.0], [0.5, 0.25], [-1.0, 3.0]]
    p = torch.nn.Parameter(torch.tensor(start))
    optimizer = Lamb([p], lr=0.1, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, bias_correction=bias_correction)
    for g in grads:
        p.grad = torch.tensor(g)
        optimizer.step()
    expected = _lamb_by_hand(start, grads, 0.1, (0.9, 0.999), 1e-6, 0.01, bias_correction)
    torch.testing.assert_close(p.detach(), torch.tensor(expected), rtol=1e-5, atol=1e-6)


def test_lamb_single_step_known_numbers_and_trust_ratio_per_tensor():
    p = torch.nn.Parameter(torch.tensor([3.0, 4.0]))  # ||p|| = 5
    zero = torch.nn.Parameter(torch.zeros(2))  # ||p|| = 0 -> trust ratio 1
    skipped = torch.nn.Parameter(torch.ones(2))  # no grad -> untouched
    optimizer = Lamb([p, zero, skipped], lr=0.1, weight_decay=0.0, eps=0.0)
    p.grad = torch.tensor([1.0, -2.0])
    zero.grad = torch.tensor([0.5, 0.5])
    optimizer.step()
    # first step without bias correction: u = 0.1 g / sqrt(0.001 g^2) = sign(g) * sqrt(10)
    u = math.sqrt(10.0)
    trust = 5.0 / (u * math.sqrt(2.0))
    torch.testing.assert_close(p.detach(), torch.tensor([3.0 - 0.1 * trust * u, 4.0 + 0.1 * trust * u]))
    torch.testing.assert_close(zero.detach(), torch.tensor([-0.1 * u, -0.1 * u]))
    torch.testing.assert_close(skipped.detach(), torch.ones(2))


def test_lamb_minimises_a_quadratic_and_rejects_bad_arguments():
    torch.manual_seed(0)
    x = torch.nn.Parameter(torch.randn(8) + 3.0)
    optimizer = Lamb([x], lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        (x - 1.0).pow(2).sum().backward()
        optimizer.step()
    assert (x - 1.0).abs().max() < 0.1
    with pytest.raises(ValueError, match="lr"):
        Lamb([x], lr=0.0)
    with pytest.raises(ValueError, match="betas"):
        Lamb([x], betas=(1.0, 0.9))


def test_dt_optimizer_recipe_warms_up_linearly():
    model = torch.nn.Linear(3, 2)
    optimizer, scheduler = make_dt_optimizer(model.parameters(), lr=1e-4, weight_decay=5e-4, warmup_steps=4)
    assert isinstance(optimizer, Lamb)
    assert optimizer.defaults["weight_decay"] == 5e-4 and optimizer.defaults["eps"] == 1e-8
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        model(torch.ones(1, 3)).sum().backward()
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.25e-4, 0.5e-4, 0.75e-4, 1e-4, 1e-4, 1e-4])
    assert warmup_lambda(10)(0) == pytest.approx(0.1)

    adamw, _ = make_dt_optimizer(model.parameters(), kind="adamw")
    assert isinstance(adamw, torch.optim.AdamW)
    with pytest.raises(ValueError, match="kind"):
        make_dt_optimizer(model.parameters(), kind="sgd")
    with pytest.raises(ValueError, match="warmup_steps"):
        make_dt_optimizer(model.parameters(), warmup_steps=0)


def test_critic_and_temperature_optimisers_and_grad_clip():
    model = torch.nn.Linear(3, 2)
    critic_optimizer = make_critic_optimizer(model.parameters(), lr=2e-4)
    assert isinstance(critic_optimizer, torch.optim.AdamW) and critic_optimizer.defaults["lr"] == 2e-4
    log_temperature = torch.nn.Parameter(torch.tensor(0.0))
    temperature_optimizer = make_temperature_optimizer(log_temperature)
    assert isinstance(temperature_optimizer, torch.optim.Adam) and temperature_optimizer.defaults["lr"] == 1e-4

    (100.0 * model(torch.ones(4, 3)).sum()).backward()
    before = clip_dt_grad_(model)
    assert before > DT_GRAD_CLIP_NORM
    after = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
    assert after.item() == pytest.approx(DT_GRAD_CLIP_NORM, rel=1e-4)
