"""Every operation of Lightdash's generated client that Lightkeeper implements answers as documented.

`lightdash-client-python` 0.1471.0 is generated from Lightdash's OpenAPI document: each
operation module's `_get_kwargs` gives its method and path template, and its `_parse_response`
the one status it parses and the model it parses into. The test takes every operation whose
method and path template are in Lightkeeper's own `/api/v1/openapi.json` (so a new route is
covered as soon as it exists), calls it through the client with an admin service account's
token (`ApiKey ldsvc_…`, the client's default header) against a seeded organization, and checks
that the answer has the documented status and parses into the documented model. Every failure
is collected, so one run lists them all.

Bodies come from BODIES (keyed by operation name), path values from the seeded world (PATHS
overrides one operation's), query parameters from QUERIES. An implemented operation that needs
a body and has none here fails, naming the entry to add.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import traceback
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lightdash_client import AuthenticatedClient
from lightdash_client import api as generated_api

from lightkeeper.dbt_manifest import convert_manifest, load_manifest
from lightkeeper.kit.clock import utcnow
from lightkeeper.runtime import Runtime
from lightkeeper.warehouse.demo import DEMO_DATABASE_FILENAME, build_demo_duckdb, demo_column_types
from tests.support import (
    JAFFLE_MANIFEST,
    Org,
    add_chart,
    add_comment,
    add_dashboard,
    add_group,
    add_membership,
    add_person,
    add_personal_token,
    add_query_project,
    add_service_account,
    add_space,
    make_org,
)

TILE_UUID = "00000000-0000-4000-8000-000000000000"  # add_dashboard's first tile
METRIC_QUERY = {
    "exploreName": "orders",
    "dimensions": ["orders_status"],
    "metrics": ["orders_total_order_amount"],
    "filters": {},
    "sorts": [{"fieldId": "orders_status", "descending": False}],
    "limit": 10,
    "tableCalculations": [],
}


# -- the operations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    module: ModuleType
    method: str
    template: str  # e.g. /api/v1/projects/{projectUuid}
    status: HTTPStatus | None  # the status `_parse_response` parses (None: it parses none)
    model: type | None  # what it parses into

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.module._get_kwargs)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.method} {self.template})"


def _operations() -> list[Operation]:
    found = []
    for info in pkgutil.walk_packages(generated_api.__path__, generated_api.__name__ + "."):
        if info.ispkg:
            continue
        module = importlib.import_module(info.name)
        source = inspect.getsource(module._get_kwargs)
        method = re.search(r'"method": "(\w+)"', source)
        url = re.search(r'"url": "([^"]+)"', source)
        assert method and url, f"{info.name}: no method/url in _get_kwargs"
        statuses = re.findall(r"HTTPStatus\.(\w+)", inspect.getsource(module._parse_response))
        returned = typing.get_type_hints(module._parse_response)["return"]
        models = [t for t in typing.get_args(returned) if t is not type(None) and t is not Any]
        found.append(
            Operation(
                name=info.name.rsplit(".", 1)[-1],
                module=module,
                method=method.group(1).upper(),
                template=url.group(1),
                status=HTTPStatus[statuses[0]] if statuses else None,
                model=models[0] if models else None,
            )
        )
    return sorted(found, key=lambda op: op.name)


def _route_key(method: str, path: str) -> tuple[str, str]:
    return method.upper(), re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# -- what each operation is given -------------------------------------------------------------


@dataclass
class World:
    org: Org
    values: dict[str, Any]  # path values by the template's names, and a few more

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


Maker = Callable[[World], Any]

# Bodies as the client's users write them (JSON); `_body` turns them into the client's models.
BODIES: dict[str, Maker] = {
    "add_project_access_to_group": lambda w: {"role": "viewer"},
    "add_space_group_access": lambda w: {"groupUuid": w["newGroupUuid"], "spaceRole": "viewer"},
    "add_space_user_access": lambda w: {"userUuid": w["memberUuid"], "spaceRole": "viewer"},
    "compile_query": lambda w: METRIC_QUERY,
    "create_comment": lambda w: {
        "text": "Looks right",
        "textHtml": "<p>Looks right</p>",
        "mentions": [],
    },
    "create_dashboard": lambda w: {
        "name": "Created by the client",
        "spaceUuid": w["spaceUuid"],
        "tiles": [],
        "tabs": [],
    },
    "create_group_in_organization": lambda w: {"name": "Made by the client"},
    "create_space_in_project": lambda w: {"name": "Made by the client"},
    "grant_project_access_to_user": lambda w: {
        "email": w["memberEmail"],
        "role": "viewer",
        "sendEmail": False,
    },
    "register_user": lambda w: {
        "inviteCode": w["inviteCode"],
        "firstName": "Invited",
        "lastName": "Person",
        "password": "correct horse battery",
    },
    "replace_yaml_tags": lambda w: [
        {"name": "finance", "color": "#ff0000", "yamlReference": "finance"}
    ],
    "rotate_personal_access_token": lambda w: {"expiresAt": w["inThirtyDays"]},
    "run_metric_query": lambda w: METRIC_QUERY,
    "set_explores": lambda w: w["explores"],
    "update_group": lambda w: {  # the client sends `members` always ([] when not given)
        "name": "Analysts renamed",
        "members": [{"userUuid": w["editorUuid"]}],
    },
    "update_my_organization": lambda w: {"name": "Acme"},
    "update_organization_member": lambda w: {"role": "editor"},
    "update_project_access_for_group": lambda w: {"role": "editor"},
    "update_project_access_for_user": lambda w: {"role": "editor"},
    "update_project_metadata": lambda w: {"upstreamProjectUuid": None},
    "update_scheduler_settings": lambda w: {"schedulerTimezone": "Europe/Paris"},
    "update_space": lambda w: {"name": "Board renamed", "isPrivate": False},
    "update_dashboards": lambda w: [
        {"uuid": w["dashboardUuid"], "name": "Renamed in bulk", "spaceUuid": w["spaceUuid"]}
    ],
    "upsert_chart_as_code": lambda w: {
        "name": "As code",
        "slug": "as-code",
        "spaceSlug": "board",
        "tableName": "orders",
        "metricQuery": METRIC_QUERY,
        "chartConfig": {"type": "table", "config": {}},
        "tableConfig": {"columnOrder": []},
        "version": 1,
        "updatedAt": "2026-01-01T00:00:00.000Z",
    },
    "upsert_dashboard_as_code": lambda w: {
        "name": "As code",
        "slug": "dashboard-as-code",
        "spaceSlug": "board",
        "tiles": [],
        "tabs": [],
        "filters": {"dimensions": [], "metrics": [], "tableCalculations": []},
        "version": 1,
        "updatedAt": "2026-01-01T00:00:00.000Z",
        "description": "",
    },
    "validate_project": lambda w: {"explores": w["explores"], "validationTargets": ["charts"]},
}

# Path values that differ from the world's (each operation acting on its own object).
PATHS: dict[str, Maker] = {
    "add_project_access_to_group": lambda w: {"groupUuid": w["newGroupUuid"]},
    "add_user_to_group": lambda w: {"userUuid": w["memberUuid"]},
    "delete_group": lambda w: {"groupUuid": w["disposableGroupUuid"]},
    "delete_organization_member": lambda w: {"userUuid": w["leaverUuid"]},
    "delete_space": lambda w: {"spaceUuid": w["disposableSpaceUuid"]},
    "remove_user_from_group": lambda w: {"userUuid": w["editorUuid"]},
    "revoke_space_access_for_user": lambda w: {"userUuid": w["editorUuid"]},
    "upsert_chart_as_code": lambda w: {"slug": "as-code"},
    "upsert_dashboard_as_code": lambda w: {"slug": "dashboard-as-code"},
}

QUERIES: dict[str, Maker] = {
    "get_latest_validation_results": lambda w: {"job_id": w["jobId"]},
}

# The caller's token (a world key), where it cannot be the service account's: a service account
# has no personal tokens, and a personal token rotates only itself.
CALLERS: dict[str, str] = {"rotate_personal_access_token": "expiringToken"}

# Run before the rest, in this order: what later operations read (a validation job).
FIRST = ["set_explores", "validate_project"]
# What an operation's answer gives later ones: world key -> field of its `results`.
CAPTURES: dict[str, dict[str, str]] = {"validate_project": {"jobId": "jobId"}}


def _ordered(operations: list[Operation]) -> list[Operation]:
    """FIRST, then the rest, deletions last (each on its own object, PATHS)."""
    first = [op for name in FIRST for op in operations if op.name == name]
    rest = [op for op in operations if op.name not in FIRST]
    return first + sorted(rest, key=lambda op: op.method == "DELETE")


def _body(op: Operation, raw: Any) -> Any:
    """The raw JSON as the client's body model (a list of them, one of a union's members)."""
    hint = typing.get_type_hints(op.module._get_kwargs)["body"]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return raw
    if origin in (list, typing.List):  # noqa: UP006 - the client's own annotation
        (item,) = args
        return raw if item is Any else [item.from_dict(x) for x in raw]
    if origin is typing.Union:
        errors = []
        for member in args:
            try:
                return member.from_dict(raw)
            except (KeyError, TypeError, ValueError) as error:
                errors.append(f"{member.__name__}: {error!r}")
        raise ValueError("; ".join(errors))
    return hint.from_dict(raw)


# -- the seeded world -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("warehouse")
    build_demo_duckdb(folder / DEMO_DATABASE_FILENAME)
    return folder


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], warehouse_dir: Path) -> Runtime:
    return make_runtime(LIGHTKEEPER_WAREHOUSE_DIRS=str(warehouse_dir))


def _seed(runtime: Runtime, client: TestClient, warehouse_dir: Path) -> World:
    org = make_org(runtime, "Acme", roles=("admin", "editor", "viewer", "member"))
    admin, editor, viewer, member = (org.people[r] for r in ("admin", "editor", "viewer", "member"))
    leaver = add_person(runtime, org, "viewer", key="leaver")
    explores = convert_manifest(
        load_manifest(JAFFLE_MANIFEST), column_types=demo_column_types()
    ).explores
    connection = {
        "type": "duckdb",
        "database": str(warehouse_dir / DEMO_DATABASE_FILENAME),
        "schema": "jaffle",
    }
    project = add_query_project(runtime, org, "Analytics", connection, explores)
    add_membership(runtime, project, viewer.uuid, "viewer")
    space = add_space(runtime, project, "Board", shared_with={editor.uuid: "editor"})
    disposable_space = add_space(runtime, project, "Old board")
    chart = add_chart(runtime, project, space, "Orders by status")
    dashboard = add_dashboard(runtime, project, space, "Overview", [chart])
    comment = add_comment(runtime, dashboard, TILE_UUID, "First!", user_uuid=admin.uuid)
    # A chart's versions are its saves: one through the API gives the version operations theirs.
    saved = client.patch(
        f"/api/v1/saved/{chart}", json={"description": "v2"}, headers=admin.headers
    )
    assert saved.status_code == 200, saved.text
    history = client.get(f"/api/v1/saved/{chart}/history", headers=admin.headers)
    version = history.json()["results"]["history"][0]["versionUuid"]
    group = add_group(
        runtime,
        org,
        "Analysts",
        members=(editor.uuid,),
        project_roles={project: "viewer"},
        space_roles={space: "viewer"},
    )
    new_group = add_group(runtime, org, "Newcomers")
    disposable_group = add_group(runtime, org, "Disposable")
    bot = add_service_account(runtime, org, "Generated client", role="admin")
    invite = client.post(
        "/api/v1/invite-links",
        json={"email": "invited@acme.example", "role": "viewer", "expiresAt": None},
        headers=admin.headers,
    )
    assert invite.status_code in (200, 201), invite.text
    expiring_token, expiring_value = add_personal_token(
        runtime, admin.uuid, expires_at=utcnow() + timedelta(days=30)
    )
    return World(
        org,
        {
            "token": bot.token,
            "projectUuid": project,
            "spaceUuid": space,
            "disposableSpaceUuid": disposable_space,
            "chartUuid": chart,
            "versionUuid": version,
            "dashboardUuid": dashboard,
            "dashboardTileUuid": TILE_UUID,
            "commentId": comment,
            "groupUuid": group,
            "newGroupUuid": new_group,
            "disposableGroupUuid": disposable_group,
            "userUuid": viewer.uuid,
            "editorUuid": editor.uuid,
            "memberUuid": member.uuid,
            "memberEmail": member.email,
            "leaverUuid": leaver.uuid,
            "exploreId": "orders",
            "slug": "orders-by-status",
            "inviteCode": invite.json()["results"]["inviteCode"],
            "personalAccessTokenUuid": expiring_token,
            "expiringToken": expiring_value,
            "inThirtyDays": "2099-01-01T00:00:00.000Z",
            "explores": explores,
        },
    )


@pytest.fixture
def world(runtime: Runtime, client: TestClient, warehouse_dir: Path) -> Iterator[World]:
    yield _seed(runtime, client, warehouse_dir)


# -- the test ----------------------------------------------------------------------------------


def _call(op: Operation, world: World, client: TestClient) -> str | None:
    """Call one operation; None when it answered as documented, else what went wrong."""
    values = {**world.values, **(PATHS[op.name](world) if op.name in PATHS else {})}
    arguments: dict[str, Any] = {}
    for name, parameter in op.signature.parameters.items():
        if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            key = _camel(name)
            if key not in values:
                if key in {k for c in CAPTURES.values() for k in c}:
                    return f"no {{{key}}}: the operation that gives it (CAPTURES) failed"
                return f"no path value for {{{key}}}: add it to the world or to PATHS[{op.name!r}]"
            arguments[name] = values[key]
        elif name == "body":
            if op.name not in BODIES:
                return f"needs a body: add BODIES[{op.name!r}]"
            try:
                arguments["body"] = _body(op, BODIES[op.name](world))
            except (KeyError, TypeError, ValueError) as error:
                return f"BODIES[{op.name!r}] is not the client's body model: {error!r}"
    if op.name in QUERIES:
        try:
            arguments.update(QUERIES[op.name](world))
        except KeyError as error:
            return f"no value for {error}: an earlier operation (CAPTURES) did not give it"
    token = world[CALLERS.get(op.name, "token")]
    client.headers["Authorization"] = f"ApiKey {token}"  # what the generated client sends
    api = AuthenticatedClient(base_url=str(client.base_url), token=token)
    api.set_httpx_client(client)
    if op.status == HTTPStatus.NO_CONTENT:
        # HTTP gives a 204 no body (uvicorn refuses to send one), yet the generated client reads
        # JSON from it, so no server can make its parser succeed: the status and the empty body
        # are what can be checked (docs/decisions.md, "Where Lightkeeper differs from Lightdash").
        sent = op.module._get_kwargs(**arguments)
        answer = client.request(sent["method"], sent["url"], params=sent.get("params"))
        if answer.status_code != HTTPStatus.NO_CONTENT or answer.content:
            return f"status {answer.status_code}, documented 204 with no body: {answer.content[:300]!r}"
        return None
    try:
        response = op.module.sync_detailed(client=api, **arguments)
    except Exception as error:  # the client's parser raising is the failure this test looks for
        where = traceback.extract_tb(error.__traceback__)[-1]
        model = Path(where.filename).stem
        return f"the client could not parse the answer: {error!r} in {model}:{where.lineno}"
    expected = op.status or HTTPStatus.OK
    if response.status_code != expected:
        return f"status {int(response.status_code)}, documented {int(expected)}: {response.content[:300]!r}"
    if op.model is None:  # the document gives no body to parse: the envelope must still be ok
        return (
            None if b'"status":"ok"' in response.content else f"not ok: {response.content[:300]!r}"
        )
    if not isinstance(response.parsed, op.model):
        return f"parsed as {type(response.parsed).__name__}, documented {op.model.__name__}"
    for key, field in CAPTURES.get(op.name, {}).items():
        world.values[key] = json.loads(response.content)["results"][field]
    return None


def test_every_implemented_operation_answers_its_documented_status_and_parses(
    client: TestClient, world: World
) -> None:
    routes = client.get("/api/v1/openapi.json").json()["paths"]
    implemented = {_route_key(method, path) for path, item in routes.items() for method in item}
    operations = [op for op in _operations() if _route_key(op.method, op.template) in implemented]
    assert len(operations) >= 65  # the routes the server has (README: "65 today")

    failures = []
    for op in _ordered(operations):
        problem = _call(op, world, client)
        if problem is not None:
            failures.append(f"{op.label}: {problem}")
    assert not failures, f"{len(failures)} of {len(operations)} operations failed:\n" + "\n".join(
        failures
    )
