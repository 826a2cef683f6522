"""Plumbing with no business rules: tokens, crypto, clock, errors, base models."""
