"""Leaked-token response: the secret-scanning partner endpoint that revokes reported tokens."""
