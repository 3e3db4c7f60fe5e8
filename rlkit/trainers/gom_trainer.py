"""One GOM update as one function: target sampling, the psi and policy gradient steps, w, EMA; compiled or eager.

``GOMTrainer(gom).step(batch)`` runs, as the original's jitted ``update``:

1. ``psi_target = phi(s) + gamma * psi_ema_sample(s')`` (one 50-step DDIM sample, hoisted condition work);
2. the psi and policy diffusion losses (and w's MSE with ``w_rule="joint"``), one backward;
3. per network, the gradient rescaled to global norm 1 (``grad_rule="normalize"``, the original) or clipped at 1;
4. AdamW (tensor lr from the warmup-cosine schedule, weight decay 1e-6 on all params); Adam for w;
5. EMA of both networks (rate 0.995).

With ``compile=True`` the heavy parts are compiled with ``torch.compile(mode="default")``, region by region: one
sampler step (network + DDIM update, reused by all 50 steps; :meth:`DiffusionModel.compile_sampler`) and the
differentiable losses (forward and, through AOTAutograd, backward). The rest of the update is a handful of fused /
foreach kernels (gradient rescaling, fused AdamW, EMA lerp) run eagerly. Compiling the whole update as one graph
unrolls the 50-step loop: on a 2-core CPU that took 4 minutes for a 5-step sampler at tiny sizes, and grows with the
step count, while compiling the step once costs seconds and runs the same kernels. Nothing in the update reads a
value back to the host; the returned metrics are 0-dim device tensors (call ``.item()`` when logging).

GPU-only options (their code paths are kept but cannot be exercised on a CPU-only machine): ``autocast_bf16``
runs the sampler and losses under ``torch.autocast("cuda", torch.bfloat16)``; ``cuda_graphs`` compiles with
``mode="reduce-overhead"`` (CUDA graphs). Both are ignored unless the model is on a CUDA device.

``sampler_bf16`` (any device; off by default, a deviation): only the no-grad Bellman-target sampler runs under
bf16 autocast (matmuls in bf16, the DDIM arithmetic and the losses in float32). On CPUs with AVX512-BF16 / AMX the
sampler's matmuls run several times faster; the target sample changes by a few percent (bf16 has 8 mantissa bits),
which is noise next to the sample's own randomness but is not the original's float32 math.
"""

from __future__ import annotations

import contextlib
import copy
import time
from typing import Any

import torch
from tensordict import TensorDictBase

from rlkit.agents.gom import GOM
from rlkit.modules.ema import EMA
from rlkit.objectives.gom_optim import GRAD_RULES, make_gom_optimizer, rescale_gradients_, set_lr_, warmup_cosine_lr
from rlkit.objectives.occupancy import OccupancyLoss
from rlkit.objectives.reward_weights import fit_reward_weights

W_RULES = ("joint", "closed_form")


class GOMTrainer:
    """Trains a :class:`GOM` one batch at a time (see the module docstring).

    Args:
        gom: the model bundle (already on its device).
        lr, warmup_steps, total_steps: the warmup-cosine schedule of both networks (0 -> lr -> 0).
        weight_decay: AdamW's decoupled weight decay, on every parameter.
        grad_rule: ``"normalize"`` (original: always rescale to norm 1) or ``"clip"`` (clip at norm 1).
        ema_rate: EMA rate of ``psi_ema`` and ``policy_ema``.
        gamma: must equal ``gom.gamma`` (the discount also fixes psi's box, so it is the model's); checked.
        done_mask: bootstrap with ``1 - terminated`` (off in the original).
        w_rule: ``"joint"`` (original: Adam on the MSE each step, lr ``w_lr``) or ``"closed_form"`` (call
            :meth:`fit_w` once; the step leaves w alone).
        compile: wrap the step in ``torch.compile``; False runs it eagerly.
        sampling_steps: DDIM steps of the Bellman target sample.
        autocast_bf16, cuda_graphs: CUDA-only options (see the module docstring).
        sampler_bf16: bf16 autocast for the target sampler only, on any device (see the module docstring).

    Batch: a TensorDict with ``observation``, ``action``, ``phi``, ``("next", "phi")``, ``("next", "observation")``,
    ``("next", "reward")`` (B, 1) and ``("next", "terminated")`` (B, 1) bool (:class:`OccupancyLoss` names them).
    """

    def __init__(self, gom: GOM, *, lr: float = 3e-4, warmup_steps: int = 500, total_steps: int = 100_000,
                 weight_decay: float = 1e-6, grad_rule: str = "normalize", ema_rate: float = 0.995,
                 gamma: float = 0.99, done_mask: bool = False, w_rule: str = "joint", compile: bool = True,
                 sampling_steps: int = 50, w_lr: float = 3e-4, autocast_bf16: bool = False,
                 cuda_graphs: bool = False, sampler_bf16: bool = False) -> None:
        if grad_rule not in GRAD_RULES:
            raise ValueError(f"GOMTrainer: grad_rule must be one of {GRAD_RULES}; got {grad_rule!r}")
        if w_rule not in W_RULES:
            raise ValueError(f"GOMTrainer: w_rule must be one of {W_RULES}; got {w_rule!r}")
        if abs(gamma - gom.gamma) > 1e-12:
            raise ValueError(f"GOMTrainer: gamma={gamma} differs from the model's gamma={gom.gamma} (which sets psi's "
                             "box); build the GOM with the gamma you train with")
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"GOMTrainer: need 0 <= warmup_steps < total_steps; got {warmup_steps}, {total_steps}")
        self.gom = gom
        self.lr, self.warmup_steps, self.total_steps = lr, warmup_steps, total_steps
        self.grad_rule, self.w_rule = grad_rule, w_rule
        self.loss = OccupancyLoss(gom, done_mask=done_mask, sampling_steps=sampling_steps,
                                  train_w=w_rule == "joint")
        device = gom.w.device
        self.device = device
        self.psi_optim = make_gom_optimizer(gom.psi.parameters(), weight_decay, device)
        self.policy_optim = make_gom_optimizer(gom.policy.parameters(), weight_decay, device)
        self.w_optim = _adam_with_tensor_lr([gom.w], w_lr, device)
        self.psi_ema = EMA(gom.psi, ema_rate, target=gom.psi_ema)
        self.policy_ema = EMA(gom.policy, ema_rate, target=gom.policy_ema)
        self.num_updates = torch.zeros((), dtype=torch.int64, device=device)
        on_cuda = device.type == "cuda"
        self.autocast_bf16 = autocast_bf16 and on_cuda
        self.sampler_bf16 = sampler_bf16
        self.compiled = compile
        mode = "reduce-overhead" if (cuda_graphs and on_cuda) else "default"
        self._training_terms = self.loss.training_terms
        if compile:
            gom.psi_ema.compile_sampler(mode=mode)
            self._training_terms = torch.compile(self.loss.training_terms, mode=mode)
        self.first_step_seconds: float | None = None

    # -- the update -------------------------------------------------------------------------------------------------
    def _update(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        lr = warmup_cosine_lr(self.num_updates, self.lr, self.warmup_steps, self.total_steps)
        set_lr_(self.psi_optim, lr)
        set_lr_(self.policy_optim, lr)
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast_bf16
                    else contextlib.nullcontext())
        sampler_autocast = (torch.autocast(self.device.type, dtype=torch.bfloat16) if self.sampler_bf16
                            else contextlib.nullcontext())
        with autocast:
            with sampler_autocast:
                target = self.loss.bellman_target(tensors["phi"], tensors["next_observation"],
                                                  tensors.get("terminated"))
            terms = self._training_terms(tensors, target.float())
        total = terms["loss_psi"] + terms["loss_policy"] + terms.get("loss_w", 0.0)
        for optim in (self.psi_optim, self.policy_optim, self.w_optim):
            optim.zero_grad(set_to_none=True)
        total.backward()
        psi_norm = rescale_gradients_(self.gom.psi.parameters(), self.grad_rule)
        policy_norm = rescale_gradients_(self.gom.policy.parameters(), self.grad_rule)
        self.psi_optim.step()
        self.policy_optim.step()
        if self.w_rule == "joint":
            self.w_optim.step()
        self.psi_ema.update()
        self.policy_ema.update()
        self.num_updates += 1
        metrics = {name: value.detach() for name, value in terms.items()}
        metrics.update(grad_norm_psi=psi_norm, grad_norm_policy=policy_norm, lr=lr)
        return metrics

    def step(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """One update on ``batch``; returns detached 0-dim metrics (``loss_psi``, ``loss_policy``, ``loss_w``, ...)."""
        tensors = self.loss.read_batch(batch)
        tensors = {k: v.to(self.device, non_blocking=True) for k, v in tensors.items()}
        if self.first_step_seconds is None:
            start = time.perf_counter()
            metrics = self._update(tensors)
            self.first_step_seconds = time.perf_counter() - start  # compile time shows here
            return metrics
        return self._update(tensors)

    @torch.no_grad()
    def fit_w(self, phi_next: torch.Tensor, reward: torch.Tensor, ridge: float = 0.0) -> torch.Tensor:
        """Set ``gom.w`` to the closed-form least-squares fit (``w_rule="closed_form"``); returns it."""
        w = fit_reward_weights(phi_next.to(self.device), reward.to(self.device), ridge)
        self.gom.w.copy_(w)
        return self.gom.w.detach().clone()

    # -- checkpoints (the model's weights are saved separately, e.g. Checkpointer.save(model=gom, trainer=...)) ----
    def state_dict(self) -> dict[str, Any]:
        return {"psi_optim": self.psi_optim.state_dict(), "policy_optim": self.policy_optim.state_dict(),
                "w_optim": self.w_optim.state_dict(), "num_updates": self.num_updates.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore optimiser states and the update count (copied: torch's optimisers would alias the tensors)."""
        state = copy.deepcopy(state)
        missing = {"psi_optim", "policy_optim", "w_optim", "num_updates"} - set(state)
        if missing:
            raise KeyError(f"GOMTrainer.load_state_dict: missing entries {sorted(missing)}")
        self.psi_optim.load_state_dict(state["psi_optim"])
        self.policy_optim.load_state_dict(state["policy_optim"])
        self.w_optim.load_state_dict(state["w_optim"])
        self.num_updates.copy_(state["num_updates"])


def _adam_with_tensor_lr(params: list[torch.Tensor], lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam (the original's w optimiser, constant lr) with a tensor lr: fused where available, else capturable."""
    try:
        return torch.optim.Adam(params, lr=torch.tensor(lr, device=device), fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=torch.tensor(lr, device=device), foreach=True, capturable=True)
