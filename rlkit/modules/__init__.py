"""rlkit.modules: filled by later issues."""
