"""The decision transformer trunk: (R, s, a) tokens through a causal pre-LN transformer, written in plain torch.

As in the ODT / ODT+TD3 originals there is no positional embedding by default: the only order information is the
causal mask. ``max_timestep`` turns on a learned timestep embedding added to all three tokens of a step (the original
DT). Padding is handled exactly (see ``attention.py``): padded inputs are zeroed and never attended to by real tokens,
so a window of length k left-padded to K gives the same predictions as the unpadded length-k window.
"""

from __future__ import annotations

import torch
from torch import nn

from rlkit.modules.attention import TransformerBlock, causal_padding_mask, gpt2_init_, query_rows


def check_window_inputs(
    states: torch.Tensor,
    actions: torch.Tensor,
    returns_to_go: torch.Tensor,
    timesteps: torch.Tensor | None,
    mask: torch.Tensor | None,
    state_dim: int,
    act_dim: int,
) -> None:
    """Raise a ValueError naming the argument whose shape or dtype disagrees with ``(B, K, ...)`` windows."""
    if states.dim() != 3 or states.shape[-1] != state_dim:
        raise ValueError(f"states must have shape (B, K, {state_dim}); got {tuple(states.shape)}")
    batch, length = states.shape[:2]
    expected = {
        "actions": (actions, (batch, length, act_dim)),
        "returns_to_go": (returns_to_go, (batch, length, 1)),
        "timesteps": (timesteps, (batch, length)),
        "mask": (mask, (batch, length)),
    }
    for name, (value, shape) in expected.items():
        if value is not None and tuple(value.shape) != shape:
            raise ValueError(f"{name} must have shape {shape} to match states {tuple(states.shape)}; "
                             f"got {tuple(value.shape)}")
    if mask is not None and mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor (True on real steps); got dtype {mask.dtype}")
    if timesteps is not None and (timesteps.dtype.is_floating_point or timesteps.dtype == torch.bool):
        raise ValueError(f"timesteps must be an integer tensor; got dtype {timesteps.dtype}")


class DecisionTransformer(nn.Module):
    """Causal transformer over interleaved ``(R_1, s_1, a_1, ..., R_K, s_K, a_K)`` tokens.

    ``forward`` returns the final hidden state at each *state* token, ``(B, K, embed_dim)``: the one that predicts
    a_t, which has seen R_<=t, s_<=t and a_<t. Hidden states at padded positions are finite but meaningless.

    Args:
        state_dim, act_dim: sizes of s and a.
        embed_dim, n_layer, n_head: transformer width, depth and heads (the original: 512, 4, 4).
        n_inner: MLP width, default ``4 * embed_dim``.
        dropout: on embeddings, attention weights and residual branches (GPT-2's three dropouts, one rate).
        activation: MLP activation name (``relu`` as the original, ``gelu``, ``gelu_new``, ``silu``, ``tanh``).
        max_timestep: ``None`` for no time information (the original ODT); an int T for a learned embedding of
            timesteps 0..T (larger timesteps share T's embedding, as the original caps them).
        state_queries_only: compute only what the state tokens' outputs depend on, exactly: the last block computes
            its queries, attention output and MLP at the state tokens only (keys and values still come from every
            token), and the last action token, which comes after every state token and so is never attended to,
            skips the blocks. At the original's sizes that is ~15% fewer FLOPs per forward and backward. False runs
            every token through every block (for subclasses that read the other tokens' outputs).

    Example:
        >>> dt = DecisionTransformer(3, 2, embed_dim=16, n_layer=1, n_head=2)
        >>> B, K = 4, 5
        >>> out = dt(torch.randn(B, K, 3), torch.randn(B, K, 2), torch.randn(B, K, 1),
        ...          torch.zeros(B, K, dtype=torch.long), torch.ones(B, K, dtype=torch.bool))
        >>> out.shape
        torch.Size([4, 5, 16])
    """

    def __init__(
        self,
        state_dim: int,
        act_dim: int,
        *,
        embed_dim: int = 512,
        n_layer: int = 4,
        n_head: int = 4,
        n_inner: int | None = None,
        dropout: float = 0.1,
        activation: str = "relu",
        max_timestep: int | None = None,
        state_queries_only: bool = True,
    ) -> None:
        super().__init__()
        for name, value in {"state_dim": state_dim, "act_dim": act_dim, "embed_dim": embed_dim,
                            "n_layer": n_layer, "n_head": n_head}.items():
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"DecisionTransformer: {name} must be a positive int; got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"DecisionTransformer: dropout must be in [0, 1); got {dropout}")
        if max_timestep is not None and (not isinstance(max_timestep, int) or max_timestep < 0):
            raise ValueError(f"DecisionTransformer: max_timestep must be None or an int >= 0; got {max_timestep!r}")
        self.state_dim = state_dim
        self.act_dim = act_dim
        self.embed_dim = embed_dim
        self.max_timestep = max_timestep
        self.state_queries_only = state_queries_only
        self.embed_return = nn.Linear(1, embed_dim)
        self.embed_state = nn.Linear(state_dim, embed_dim)
        self.embed_action = nn.Linear(act_dim, embed_dim)
        self.embed_timestep = nn.Embedding(max_timestep + 1, embed_dim) if max_timestep is not None else None
        self.embed_ln = nn.LayerNorm(embed_dim)
        self.embed_dropout = nn.Dropout(dropout)
        inner = n_inner if n_inner is not None else 4 * embed_dim
        self.blocks = nn.ModuleList(
            TransformerBlock(embed_dim, n_head, inner, dropout, activation) for _ in range(n_layer)
        )
        self.ln_final = nn.LayerNorm(embed_dim)
        gpt2_init_(self, n_layer)

    def embed(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor | None,
    ) -> torch.Tensor:
        """Interleaved token embeddings ``(B, 3K, embed_dim)`` before the blocks (override to add modalities)."""
        tokens = torch.stack(
            (self.embed_return(returns_to_go), self.embed_state(states), self.embed_action(actions)), dim=2
        )  # (B, K, 3, E)
        if self.embed_timestep is not None:
            tokens = tokens + self.embed_timestep(timesteps.clamp(0, self.max_timestep))[:, :, None, :]
        batch, length = states.shape[:2]
        return self.embed_dropout(self.embed_ln(tokens.reshape(batch, 3 * length, self.embed_dim)))

    def forward(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        check_window_inputs(states, actions, returns_to_go, timesteps, mask, self.state_dim, self.act_dim)
        if self.embed_timestep is not None and timesteps is None:
            raise ValueError(f"this DecisionTransformer embeds timesteps (max_timestep={self.max_timestep}); "
                             "pass timesteps (B, K)")
        batch, length = states.shape[:2]
        token_mask = None
        if mask is not None:
            # zero the padded inputs so that even non-finite padding cannot reach values or gradients
            keep = mask[..., None]
            states = torch.where(keep, states, 0.0)
            actions = torch.where(keep, actions, 0.0)
            returns_to_go = torch.where(keep, returns_to_go, 0.0)
            token_mask = mask[:, :, None].expand(batch, length, 3).reshape(batch, 3 * length)
        x = self.embed(states, actions, returns_to_go, timesteps)
        if self.state_queries_only:
            return self._state_token_outputs(x, token_mask)
        attn_mask = causal_padding_mask(token_mask, 3 * length, x.device)
        for block in self.blocks:
            x = block(x, attn_mask)
        # the final LayerNorm acts per token, so applying it to the state tokens only is the same and cheaper
        return self.ln_final(x.view(batch, length, 3, self.embed_dim)[:, :, 1])

    def _state_token_outputs(self, x: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """The blocks on the tokens ``(B, 3K, E)`` computing only the state tokens' outputs (``state_queries_only``)."""
        x = x[:, :-1]  # a_K: after every state token, so no output that forward returns can see it
        token_mask = token_mask[:, :-1] if token_mask is not None else None
        length = x.shape[1]
        attn_mask = causal_padding_mask(token_mask, length, x.device)
        for block in self.blocks[:-1]:
            x = block(x, attn_mask)
        state_tokens = slice(1, None, 3)  # R_1, s_1, a_1, R_2, ...: the state tokens sit at 1, 4, 7, ...
        x = self.blocks[-1](x, query_rows(attn_mask, state_tokens, length, x.device), state_tokens)
        return self.ln_final(x)
