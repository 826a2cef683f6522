"""Credentials in, one Principal out."""
