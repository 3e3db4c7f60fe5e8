"""The denoiser of GOM's diffusion heads: an MLP "U-Net" with FiLM conditioning (the original's ConditionalUnet1D).

Why an MLP U-Net: outcomes (psi, 129-d) and actions (8-d) are flat vectors, so the "U" is a stack of residual MLP
blocks with skip concatenations, each block modulated by FiLM from ``cond = [time embedding, condition embedding]``.

Sampling runs this network 50 times on the same condition, so the net offers a *hoisted* path that gives the same
outputs with less work: FiLM's ``Dense(concat(t_emb, c_emb))`` equals ``W_t t_emb + (W_c c_emb + b)``.
:meth:`ConditionalMLPUNet.prepare_condition` computes the condition MLP and every block's ``W_c c_emb + b`` once;
:meth:`ConditionalMLPUNet.forward_prepared` adds ``W_t t_emb``, computed once per step for the whole batch when the
time label is shared (a scalar).

Architecture (defaults = the original, 25,020,801 parameters for x 129 / cond 29):
time embedding sinusoidal(256) [sin | cos]; condition MLP LinearBlock(h) -> LinearBlock(h) -> Dense(256) with
h = 2 * max(256, cond_dim); residual blocks LinearBlock -> FiLM -> LinearBlock plus a Dense skip; down 2x256,
2x512, 2x1024; mid 2x1024; up: concat(x, skip) -> 2x512, concat(x, skip) -> 2x256 (the 256-level skip is unused, as in
the original); LinearBlock(256) -> Dense(x_dim). LinearBlock = Dense -> LayerNorm(eps 1e-6) -> swish. Init as flax:
LeCun truncated-normal kernels, zero biases, LayerNorm scale 1 and offset 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from rlkit.modules.cumulants import lecun_truncated_normal_

LAYER_NORM_EPS = 1e-6


def flax_dense(in_dim: int, out_dim: int) -> nn.Linear:
    """An ``nn.Linear`` initialised like flax's ``Dense``: LeCun truncated-normal kernel, zero bias."""
    layer = nn.Linear(in_dim, out_dim)
    lecun_truncated_normal_(layer.weight, in_dim)
    nn.init.zeros_(layer.bias)
    return layer


def sinusoidal_embedding(label: torch.Tensor, dim: int) -> torch.Tensor:
    """``[sin(label * f_k), cos(label * f_k)]`` with ``f_k = exp(-k log(10000) / (dim/2 - 1))``; odd dims zero-padded.

    ``label`` is any shape (a 0-dim label gives a ``(dim,)`` embedding shared by a whole batch).
    """
    half = dim // 2
    freqs = torch.exp(torch.arange(half, device=label.device, dtype=torch.float32) * (-math.log(10000.0) / (half - 1)))
    angles = label.to(torch.float32)[..., None] * freqs
    emb = torch.cat((torch.sin(angles), torch.cos(angles)), dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class LinearBlock(nn.Sequential):
    """Dense -> LayerNorm(eps 1e-6) -> swish."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__(flax_dense(in_dim, out_dim), nn.LayerNorm(out_dim, eps=LAYER_NORM_EPS), nn.SiLU())


class FiLMResidualBlock(nn.Module):
    """``LinearBlock -> gamma * h + beta -> LinearBlock``, plus ``Dense(x)``; ``gamma, beta = split(Dense(cond))``."""

    def __init__(self, in_dim: int, out_dim: int, cond_dim: int) -> None:
        super().__init__()
        self.first = LinearBlock(in_dim, out_dim)
        self.film = flax_dense(cond_dim, 2 * out_dim)
        self.second = LinearBlock(out_dim, out_dim)
        self.skip = flax_dense(in_dim, out_dim)
        self.out_dim = out_dim

    def modulate(self, x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        """The block given FiLM's pre-split output ``film = Dense(cond)`` (broadcastable to ``(..., 2*out_dim)``)."""
        gamma, beta = film.chunk(2, dim=-1)
        return self.second(gamma * self.first(x) + beta) + self.skip(x)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.modulate(x, self.film(cond))


class ConditionalMLPUNet(nn.Module):
    """Predicts the noise ``eps(x_t, label, cond)``; ``x``: (..., x_dim), ``label``: float, ``cond``: (..., cond_dim).

    Args:
        x_dim: size of the denoised vector (129 for psi, the action size for the readout policy).
        cond_dim: size of the condition (obs for psi; obs + phi for the policy).
        embed_dim: time and condition embedding size (256).
        down_dims: widths of the down levels (256, 512, 1024); the mid level uses the last, the up path the others
            in reverse.
        cond_hidden_dim: width of the condition MLP; default ``2 * max(embed_dim, cond_dim)`` as the original.

    Example:
        >>> net = ConditionalMLPUNet(4, 3, embed_dim=16, down_dims=(16, 32))
        >>> net(torch.zeros(2, 4), torch.tensor([10.0, 500.0]), torch.zeros(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, x_dim: int, cond_dim: int, embed_dim: int = 256, down_dims: Sequence[int] = (256, 512, 1024),
                 cond_hidden_dim: int | None = None) -> None:
        super().__init__()
        down_dims = tuple(down_dims)
        cond_hidden_dim = 2 * max(embed_dim, cond_dim) if cond_hidden_dim is None else cond_hidden_dim
        sizes = {"x_dim": x_dim, "cond_dim": cond_dim, "embed_dim": embed_dim, "cond_hidden_dim": cond_hidden_dim}
        bad = {k: v for k, v in sizes.items() if not isinstance(v, int) or v <= 0}
        if bad or not down_dims or any(not isinstance(d, int) or d <= 0 for d in down_dims) or embed_dim < 4:
            raise ValueError(f"ConditionalMLPUNet: sizes must be positive ints (embed_dim >= 4, down_dims non-empty); "
                             f"got {sizes}, down_dims={down_dims}")
        self.x_dim, self.cond_dim, self.embed_dim, self.down_dims = x_dim, cond_dim, embed_dim, down_dims
        film_dim = 2 * embed_dim
        self.cond_mlp = nn.Sequential(LinearBlock(cond_dim, cond_hidden_dim), LinearBlock(cond_hidden_dim,
                                                                                           cond_hidden_dim),
                                      flax_dense(cond_hidden_dim, embed_dim))
        blocks: list[FiLMResidualBlock] = []
        width = x_dim
        for out_dim in down_dims:
            blocks += [FiLMResidualBlock(width, out_dim, film_dim), FiLMResidualBlock(out_dim, out_dim, film_dim)]
            width = out_dim
        self.num_down = len(blocks)
        blocks += [FiLMResidualBlock(width, down_dims[-1], film_dim), FiLMResidualBlock(down_dims[-1], down_dims[-1],
                                                                                        film_dim)]
        width = down_dims[-1]
        skip_widths = list(down_dims)
        for out_dim in reversed(down_dims[:-1]):
            in_dim = width + skip_widths.pop()
            blocks += [FiLMResidualBlock(in_dim, out_dim, film_dim), FiLMResidualBlock(out_dim, out_dim, film_dim)]
            width = out_dim
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(LinearBlock(width, down_dims[0]), flax_dense(down_dims[0], x_dim))

    # -- shared trunk -----------------------------------------------------------------------------------------------
    def _trunk(self, x: torch.Tensor, films: Sequence[torch.Tensor]) -> torch.Tensor:
        """Run the U given each block's FiLM output (already computed by either path)."""
        skips = []
        blocks = iter(zip(self.blocks, films))
        for _ in self.down_dims:
            for _ in range(2):
                block, film = next(blocks)
                x = block.modulate(x, film)
            skips.append(x)
        for _ in range(2):
            block, film = next(blocks)
            x = block.modulate(x, film)
        for _ in self.down_dims[:-1]:
            x = torch.cat((x, skips.pop()), dim=-1)
            for _ in range(2):
                block, film = next(blocks)
                x = block.modulate(x, film)
        return self.head(x)

    def _check(self, x: torch.Tensor | None, cond: torch.Tensor | None) -> None:
        if x is not None and x.shape[-1] != self.x_dim:
            raise ValueError(f"ConditionalMLPUNet expected x with last dim {self.x_dim}; got shape {tuple(x.shape)}")
        if cond is not None and cond.shape[-1] != self.cond_dim:
            raise ValueError(f"ConditionalMLPUNet expected cond with last dim {self.cond_dim}; "
                             f"got shape {tuple(cond.shape)}")

    def forward(self, x: torch.Tensor, t_label: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The plain network: ``t_label`` has x's leading shape (or is a scalar), cond the same leading shape."""
        self._check(x, cond)
        t_emb = sinusoidal_embedding(t_label, self.embed_dim)
        c_emb = self.cond_mlp(cond)
        full = torch.cat((t_emb.expand(*c_emb.shape[:-1], self.embed_dim), c_emb), dim=-1)
        return self._trunk(x, [block.film(full) for block in self.blocks])

    # -- hoisted path for sampling ----------------------------------------------------------------------------------
    def prepare_condition(self, cond: torch.Tensor) -> list[torch.Tensor]:
        """Every block's condition part of FiLM, ``W_c c_emb + b``: ``(..., 2*out_dim)`` per block.

        Loop-invariant across the sampler's steps; pass it to :meth:`forward_prepared`. Its leading shape must
        broadcast against x's (e.g. cond ``(B, 1, c)`` for x ``(B, n, d)``).
        """
        self._check(None, cond)
        c_emb = self.cond_mlp(cond)
        e = self.embed_dim
        return [F.linear(c_emb, block.film.weight[:, e:], block.film.bias) for block in self.blocks]

    def forward_prepared(self, x: torch.Tensor, t_label: torch.Tensor,
                         prepared: Sequence[torch.Tensor]) -> torch.Tensor:
        """Same outputs as ``forward(x, t_label, cond)`` given ``prepared = prepare_condition(cond)``.

        A 0-dim ``t_label`` (one noise level for the whole batch, as in the sampler) makes the time part of every
        FiLM a single ``(2*out_dim,)`` vector.
        """
        self._check(x, None)
        if len(prepared) != len(self.blocks):
            raise ValueError(f"forward_prepared: expected {len(self.blocks)} prepared FiLM terms, got {len(prepared)}")
        t_emb = sinusoidal_embedding(t_label, self.embed_dim)
        e = self.embed_dim
        films = [c_part + F.linear(t_emb, block.film.weight[:, :e]) for block, c_part in zip(self.blocks, prepared)]
        return self._trunk(x, films)


# -- weights of the JAX original ---------------------------------------------------------------------------------------
def _linear_block_map(torch_prefix: str, flax_path: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {f"{torch_prefix}.0.weight": (*flax_path, "Dense_0", "kernel"),
            f"{torch_prefix}.0.bias": (*flax_path, "Dense_0", "bias"),
            f"{torch_prefix}.1.weight": (*flax_path, "LayerNorm_0", "scale"),
            f"{torch_prefix}.1.bias": (*flax_path, "LayerNorm_0", "bias")}


def flax_param_map(net: ConditionalMLPUNet) -> dict[str, tuple[str, ...]]:
    """Each torch parameter name of ``net`` -> its path in the original flax ``ConditionalUnet1D`` params.

    Flax names submodules by class and creation order: ``LinearBlock_0``, ``LinearBlock_1``, ``Dense_0`` (condition
    MLP), ``ConditionalResidualLinearBlock_k`` (each: ``LinearBlock_0``, ``Dense_0`` = FiLM, ``LinearBlock_1``,
    ``Dense_1`` = skip), then ``LinearBlock_2``, ``Dense_1`` (head). Dense kernels are ``(in, out)`` (the transpose of
    ``nn.Linear.weight``); LayerNorm ``scale`` is torch's ``weight``.
    """
    mapping = {**_linear_block_map("cond_mlp.0", ("LinearBlock_0",)),
               **_linear_block_map("cond_mlp.1", ("LinearBlock_1",)),
               "cond_mlp.2.weight": ("Dense_0", "kernel"), "cond_mlp.2.bias": ("Dense_0", "bias")}
    for k in range(len(net.blocks)):
        block = (f"ConditionalResidualLinearBlock_{k}",)
        mapping.update(_linear_block_map(f"blocks.{k}.first", (*block, "LinearBlock_0")))
        mapping.update(_linear_block_map(f"blocks.{k}.second", (*block, "LinearBlock_1")))
        for torch_name, dense in (("film", "Dense_0"), ("skip", "Dense_1")):
            mapping[f"blocks.{k}.{torch_name}.weight"] = (*block, dense, "kernel")
            mapping[f"blocks.{k}.{torch_name}.bias"] = (*block, dense, "bias")
    mapping.update(_linear_block_map("head.0", ("LinearBlock_2",)))
    mapping.update({"head.1.weight": ("Dense_1", "kernel"), "head.1.bias": ("Dense_1", "bias")})
    return mapping


@torch.no_grad()
def load_flax_params(net: ConditionalMLPUNet, params: dict) -> None:
    """Copy the original's flax params (nested dicts of arrays, the ``"params"`` collection) into ``net``.

    Raises naming the first missing path or mismatched shape; every torch parameter must be covered.
    """
    own = dict(net.named_parameters())
    mapping = flax_param_map(net)
    if set(mapping) != set(own):
        raise RuntimeError(f"load_flax_params: mapping and parameters differ: {sorted(set(mapping) ^ set(own))[:5]}")
    for name, path in mapping.items():
        node = params
        for i, key in enumerate(path):
            if key not in node:
                raise KeyError(f"load_flax_params: flax params have no {'/'.join(path[:i + 1])!r} (for {name})")
            node = node[key]
        value = torch.as_tensor(node.__array__() if hasattr(node, "__array__") else node, dtype=own[name].dtype)
        if path[-1] == "kernel":
            value = value.T
        if value.shape != own[name].shape:
            raise ValueError(f"load_flax_params: {'/'.join(path)} has shape {tuple(value.shape)} (transposed for "
                             f"kernels); {name} needs {tuple(own[name].shape)}")
        own[name].copy_(value)
