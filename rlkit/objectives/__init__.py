"""rlkit.objectives: filled by later issues."""
