"""Small helpers shared across rlkit's packages."""
