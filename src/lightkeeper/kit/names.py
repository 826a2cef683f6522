"""How a person is named to other people: the one `display_name` (pages, audit labels, `createdBy`)."""

from __future__ import annotations


def display_name(first_name: str | None, last_name: str | None, fallback: str | None = None) -> str:
    """How a person is named to other people: "First Last", else `fallback` (their email)."""
    name = f"{first_name or ''} {last_name or ''}".strip()
    return name or fallback or ""
