"""rlkit.envs: filled by later issues."""
