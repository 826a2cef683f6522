"""Driving the web UI over HTTP: CSRF tokens from forms, logging in through /login."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tests.support import PASSWORD, Person


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def login(client: TestClient, person: Person | str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the CSRF token of a signed-in page."""
    email = person if isinstance(person, str) else person.email
    page = client.get("/login")
    assert page.status_code == 200, page.text
    response = client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    signed_in = client.get("/generalSettings/password")
    assert signed_in.status_code == 200
    return csrf_of(signed_in.text)


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self._label_depth = 0
        self.wrapped: int = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if values.get("for"):
                self.label_for.add(values["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and values.get("type") in ("hidden", "submit", "button"):
                return
            if self._label_depth:
                self.wrapped += 1
                return
            self.fields.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def unlabelled_fields(html: str) -> list[dict[str, str | None]]:
    """Form fields with neither a <label for=…> nor an enclosing <label> (templates excluded)."""
    html = re.sub(r"<template.*?</template>", "", html, flags=re.S)
    parser = _Fields()
    parser.feed(html)
    return [
        f
        for f in parser.fields
        if not (f.get("id") and f["id"] in parser.label_for) and not f.get("aria-label")
    ]
