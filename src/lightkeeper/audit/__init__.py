"""The audit log: every mutation, in the same transaction as the change."""
