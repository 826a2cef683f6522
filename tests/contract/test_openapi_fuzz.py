"""Schemathesis over the whole OpenAPI document: no generated request is a server error.

Bounded for `make test`: a fixed seed, a few valid and a few invalid requests per
operation, no deadline. Requests carry an admin token so they get past 401 and
reach the handlers; they may delete or change anything, which is fine on the
throwaway test database. (The operations are walked here rather than through
schemathesis' pytest plugin, whose fixture-based loader does not run on pytest 9.)
"""

from __future__ import annotations

import contextlib
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from lightkeeper.app import create_app
from lightkeeper.runtime import Runtime
from tests.support import make_org, make_project

EXAMPLES_PER_MODE = 3


def _server_errors(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    found: list[str] = []

    @seed(20260301)
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # one failure is enough: no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        if response.status_code >= 500 and len(found) < 3:
            found.append(
                f"{case.method} {case.formatted_path} -> {response.status_code} "
                f"{response.text[:300]}\n    {case.as_curl_command()}"
            )

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body).
    with contextlib.suppress(Unsatisfiable):
        probe()
    return found


def test_no_generated_request_is_a_server_error(runtime: Runtime) -> None:
    org = make_org(runtime, "Acme", roles=("admin",))
    make_project(runtime, org, "Fuzzed")
    headers = org.people["admin"].headers
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(runtime=runtime))

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50  # the whole document was read
    errors = [
        error
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for error in _server_errors(operation, mode, headers)
    ]
    assert not errors, "\n".join(errors)
