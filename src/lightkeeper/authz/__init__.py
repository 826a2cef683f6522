"""Scopes, roles and the one access decision."""
