"""The one access decision and tenancy-filtered lookups (docs/architecture.md)."""
