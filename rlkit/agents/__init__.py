"""rlkit.agents: filled by later issues.

Compositions that act in environments. Names are imported lazily, as in the other rlkit packages, so
``import rlkit.agents`` stays fast; add an agent's public names to ``_EXPORTS`` with the module they live in.
"""

from __future__ import annotations

from rlkit.utils.lazy import lazy_exports

_EXPORTS = {
    # decision-transformer inference (per-env context windows, gymnasium vector envs)
    "DTInference": "rlkit.agents.dt_inference",
    "FeedbackVectorEnv": "rlkit.agents.dt_inference",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
