"""First-run initialization from the environment (LD_SETUP_*)."""
