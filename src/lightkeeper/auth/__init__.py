"""Credentials in, one Principal out; scopes, system roles and grants (docs/architecture.md)."""
