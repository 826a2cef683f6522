"""Input no database can store, refused as a 400 naming the field before any handler runs.

PostgreSQL refuses NUL characters in text (and in JSON strings), neither database
can encode a lone surrogate (`"\\ud800"` is valid JSON, yet not Unicode text), and
integers past 64 bits overflow both drivers. Each would otherwise surface as a 500
wherever such a value first reaches a query, so one check, which the route class of
every route (`deps.RequestRoute`) runs before the route's own parameters and
dependencies, looks at every path and query parameter, form field and JSON value
(keys included) of every route, API and web pages alike. Ranges narrower than 64 bits stay with the field
that has them (`le=` on the parameter or model field).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

Problem = tuple[tuple[str | int, ...], str]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
NUL_MESSAGE = "must not contain NUL characters (\\u0000)"
SURROGATE_MESSAGE = "must be valid Unicode text: it contains a lone surrogate such as \\ud800"
INT_MESSAGE = f"must be a whole number between {INT64_MIN} and {INT64_MAX}"
FLOAT_MESSAGE = "must be a finite number"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    found = _UNSTORABLE_CHARACTER.search(value)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE


def json_problems(value: Any, location: tuple[str | int, ...]) -> Iterator[Problem]:
    """Every unstorable value inside a parsed JSON document, with where it is."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield location, problem
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            yield location, INT_MESSAGE
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield location, FLOAT_MESSAGE
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                # The key is not echoed back: a lone surrogate cannot be encoded in the reply.
                yield location, "has a key that " + problem
            else:
                yield from json_problems(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, (*location, index))


async def _body_problems(request: Request) -> list[Problem]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # The body is read (and kept) first: the route may still read it as something else
        # than a form, and parsing a form from the stream would leave nothing to read.
        await request.body()
        form = await request.form()  # parsed once: the route's form fields reuse it
        problems: list[Problem] = []
        for name, value in form.multi_items():
            problem = text_problem(name) or (
                text_problem(value) if isinstance(value, str) else None
            )
            if problem:
                problems.append((("body", name), problem))
        return problems
    if content_type == "application/json" or content_type.endswith("+json"):
        body = await request.body()
        try:
            document = json.loads(body) if body else None
        except ValueError:
            return []  # malformed JSON gets the framework's own 400
        return list(json_problems(document, ("body",)))
    return []


_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})  # bodies of these are ignored by every route


async def reject_unstorable_input(request: Request) -> None:
    """Every route's first step: a 400 (RequestValidationError) naming each field that cannot be stored."""
    problems: list[Problem] = []
    for name, value in request.path_params.items():
        problem = text_problem(str(value))
        if problem:
            problems.append((("path", name), problem))
    if request.scope.get("query_string"):  # most requests have none: nothing to parse
        for name, value in request.query_params.multi_items():
            problem = text_problem(name) or text_problem(value)
            if problem:
                problems.append((("query", name), problem))
    if request.method not in _NO_BODY:
        problems.extend(await _body_problems(request))
    if problems:
        raise RequestValidationError(
            [
                {"type": "value_error", "loc": loc, "msg": msg, "input": None}
                for loc, msg in problems
            ]
        )
