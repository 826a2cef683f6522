"""Queries: running metric queries and SQL on a project\x27s warehouse, and their results."""
