"""Pre-LN GPT-2-style transformer blocks with an exact causal + padding mask.

The mask is boolean (True = may attend), built once per forward and shared by all blocks. Padded keys are excluded
exactly (not with a large negative number as in the original's vendored GPT-2), so the outputs at real positions are
bit-for-bit independent of the padded content. Every query may also attend to itself: a padded query whose whole
causal prefix is padding would otherwise have no key left and softmax would return NaN.

``queries`` (a slice of token positions) lets a block compute its outputs at those positions only: keys and values
still come from every token, so the outputs there are the ones the full block gives (the decision transformer's last
block needs only its state tokens).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "gelu_new": lambda: nn.GELU(approximate="tanh"),  # GPT-2's default
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def make_activation(name: str) -> nn.Module:
    """The activation module for a GPT-2-style name; a clear error for an unknown one."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}") from None


def causal_padding_mask(token_mask: torch.Tensor | None, length: int, device: torch.device) -> torch.Tensor | None:
    """Boolean attention mask ``(B, 1, L, L)``: causal, padded keys removed, the diagonal always allowed.

    ``token_mask`` is ``(B, L)`` with True on real tokens; ``None`` means no padding, and ``None`` is returned so the
    attention can use the cheaper ``is_causal`` path.
    """
    if token_mask is None:
        return None
    causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()
    eye = torch.eye(length, dtype=torch.bool, device=device)
    return (causal & token_mask[:, None, None, :]) | eye


def query_rows(attn_mask: torch.Tensor | None, queries: slice, length: int, device: torch.device) -> torch.Tensor:
    """The rows of the attention mask for the query positions ``queries``: ``(B, 1, Lq, L)``, or ``(Lq, L)`` causal
    rows when ``attn_mask`` is None (``is_causal`` would align a shorter query block to the first keys, not the
    right ones)."""
    if attn_mask is not None:
        return attn_mask[:, :, queries]
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()[queries]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention`` (fused kernels where torch has them)."""

    def __init__(self, embed_dim: int, n_head: int, dropout: float) -> None:
        super().__init__()
        if embed_dim % n_head != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by n_head ({n_head})")
        self.n_head = n_head
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.attn_dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None, queries: slice | None = None) -> torch.Tensor:
        """Attention outputs at every position, or with ``queries`` at those positions only (``attn_mask`` then
        holds the rows of those queries, see ``query_rows``; it is required)."""
        batch, length, width = x.shape
        heads, head_dim = self.n_head, width // self.n_head
        if queries is None:
            # (B, L, 3, H, D) -> three (B, H, L, D) tensors
            q, k, v = self.qkv(x).view(batch, length, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        else:
            if attn_mask is None:
                raise ValueError("CausalSelfAttention: queries need the attention mask rows of those queries")
            x_q = x[:, queries]
            q = F.linear(x_q, self.qkv.weight[:width], self.qkv.bias[:width])
            q = q.view(batch, x_q.shape[1], heads, head_dim).transpose(1, 2)
            kv = F.linear(x, self.qkv.weight[width:], self.qkv.bias[width:])
            k, v = kv.view(batch, length, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.attn_dropout if self.training else 0.0,
            is_causal=attn_mask is None,
        )
        return self.resid_dropout(self.proj(out.transpose(1, 2).reshape(batch, q.shape[2], width)))


class TransformerBlock(nn.Module):
    """``x + attn(ln(x))`` then ``x + mlp(ln(x))`` (pre-LN, as GPT-2)."""

    def __init__(self, embed_dim: int, n_head: int, n_inner: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(embed_dim)
        self.attn = CausalSelfAttention(embed_dim, n_head, dropout)
        self.ln_mlp = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, n_inner),
            make_activation(activation),
            nn.Linear(n_inner, embed_dim),
            nn.Dropout(dropout),
        )

    @property
    def residual_projections(self) -> tuple[nn.Linear, nn.Linear]:
        """The two layers writing into the residual stream (GPT-2 scales their init by 1/sqrt(2 n_layer))."""
        return self.attn.proj, self.mlp[2]

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None, queries: slice | None = None) -> torch.Tensor:
        """The block's outputs at every position, or at ``queries`` only (``attn_mask`` as ``query_rows`` gives)."""
        residual = x if queries is None else x[:, queries]
        x = residual + self.attn(self.ln_attn(x), attn_mask, queries)
        return x + self.mlp(self.ln_mlp(x))


def gpt2_init_(module: nn.Module, n_layer: int, std: float = 0.02) -> None:
    """GPT-2's initialisation: Linear/Embedding weights N(0, std), biases 0, LayerNorm (1, 0), and the residual
    projections of each block N(0, std / sqrt(2 n_layer))."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.normal_(sub.weight, 0.0, std)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.Embedding):
            nn.init.normal_(sub.weight, 0.0, std)
        elif isinstance(sub, nn.LayerNorm) and sub.elementwise_affine:
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)
    for sub in module.modules():
        if isinstance(sub, TransformerBlock):
            for proj in sub.residual_projections:
                nn.init.normal_(proj.weight, 0.0, std / math.sqrt(2 * n_layer))
