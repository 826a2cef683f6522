"""Registration: the first organization, or a person with an invite (docs/architecture.md)."""
