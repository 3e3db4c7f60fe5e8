"""rlkit.agents: filled by later issues."""
