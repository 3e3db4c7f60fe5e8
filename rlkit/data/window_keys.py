"""Keys of the decision-transformer window batch, shared by the trajectory replay, the losses and the agents.

A window batch is a TensorDict of batch (B, K) in rlkit's layout (``rlkit.data.keys``) plus the entries below.
``MASK`` and ``TIMESTEP`` are the keys the window samplers of ``rlkit.data.episode_index`` already write, so
windows from either source read the same way.
"""

from __future__ import annotations

from rlkit.data.episode_index import MASK_KEY, TIMESTEP_KEY

RTG = "return_to_go"
"""Hindsight return-to-go from each step to the episode's end, multiplied by the reward scale: float32 (B, K, 1)."""
NEXT_RTG = ("next", "return_to_go")
"""Return-to-go at t + 1 = ``RTG`` - reward * reward_scale: float32 (B, K, 1)."""
MASK = MASK_KEY
"""Window validity mask: bool (B, K), True on real steps, False on left padding."""
TIMESTEP = TIMESTEP_KEY
"""Step within the episode: int64 (B, K), 0 on left padding."""

__all__ = ["MASK", "NEXT_RTG", "RTG", "TIMESTEP"]
