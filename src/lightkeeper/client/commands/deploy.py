"""`lightkeeper deploy`: turn a dbt manifest's models into explores and deploy them.

The conversion is `dbt_manifest.convert_manifest` (Lightdash's dbt conventions). The deploy is
`PUT /api/v1/projects/{uuid}/explores` with the list of explores, gzip-compressed as Lightdash's
CLI sends it. `--create` first makes a project (`POST /api/v1/org/projects`, type DEFAULT),
named after the dbt project (`metadata.project_name`) unless `--project-name`.

Models whose meta cannot be converted are reported by name and left out; the others are
deployed, and the command then exits 1 so that CI notices (a left-out model's explore is
removed from the project by the deploy, which replaces all explores).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the lock file

from lightkeeper.client import oidc
from lightkeeper.client.commands.common import JsonOption, ProjectOption, connect, project_of
from lightkeeper.client.config import Source, is_ci, save_config
from lightkeeper.client.http import CliError
from lightkeeper.client.output import Output, UsageError, handle_errors

MAX_WARNINGS_SHOWN = 20


def load_explores_file(path: Path) -> list[dict[str, Any]]:
    """Explores from a JSON or YAML file: a list, or `{"explores": [...]}`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"{path}: cannot be read: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as json_error:
        if path.suffix.lower() not in (".yml", ".yaml"):
            raise CliError(
                f"{path} is not JSON (line {json_error.lineno}, column {json_error.colno}: "
                f"{json_error.msg})"
            ) from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as yaml_error:
            raise CliError(f"{path} is not valid YAML: {yaml_error}") from None
    if isinstance(document, dict) and "explores" in document:
        document = document["explores"]
    if not isinstance(document, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] for e in document
    ):
        raise CliError(
            f'{path} must hold a list of explores (each a mapping with a "name"), '
            'or {"explores": [...]}'
        )
    return document


@handle_errors
def deploy(
    project: str | None = ProjectOption,
    manifest: Path | None = typer.Option(
        None,
        "--manifest",
        help="dbt manifest (e.g. target/manifest.json, written by `dbt parse`).",
        dir_okay=False,
        show_default=False,
    ),
    explores_file: Path | None = typer.Option(
        None,
        "--explores",
        help="A JSON (or YAML) file with a list of explores, deployed as is.",
        dir_okay=False,
        show_default=False,
    ),
    create: bool = typer.Option(False, "--create", help="Create a new project and deploy to it."),
    project_name: str | None = typer.Option(
        None,
        "--project-name",
        help="Name of the project --create makes (default: the dbt project's name).",
        show_default=False,
    ),
    oidc_audience: str | None = typer.Option(
        None,
        "--oidc-audience",
        help=f"In GitHub Actions: authenticate keylessly with the job's identity token for this "
        f"audience (default: {oidc.ENV_OIDC_AUDIENCE}).",
        show_default=False,
    ),
    oidc_token: str | None = typer.Option(
        None,
        "--oidc-token",
        help=f"Authenticate with this CI identity token (default: {oidc.ENV_OIDC_TOKEN}).",
        show_default=False,
    ),
    as_json: bool = JsonOption,
) -> None:
    """Deploy explores from a dbt manifest (or an explores file) to a project."""
    # Imported here: the converter is only needed by this command (faster start for the others).
    from lightkeeper.dbt_manifest import ConversionReport, convert_manifest, load_manifest

    output = Output(as_json)
    if (manifest is None) == (explores_file is None):
        raise UsageError("Give exactly one of --manifest FILE or --explores FILE")
    if project_name is not None and not create:
        raise UsageError("--project-name goes with --create")
    if create and project is not None:
        raise UsageError("Give --project (deploy to it) or --create (a new project), not both")
    for option, path in (("--manifest", manifest), ("--explores", explores_file)):
        if path is not None and not path.is_file():
            raise UsageError(f"{option}: {path} does not exist (or is not a file)")

    report = ConversionReport()
    dbt_project_name: str | None = None
    with output.progress("Reading", total=None) as step:
        if manifest is not None:
            step.update(description=f"Converting {manifest}")
            try:
                loaded = load_manifest(manifest)
                report = convert_manifest(loaded)
            except ValueError as error:
                raise CliError(str(error)) from None
            metadata = loaded.get("metadata")
            if isinstance(metadata, dict) and isinstance(metadata.get("project_name"), str):
                dbt_project_name = metadata["project_name"]
            explores = report.explores
        else:
            assert explores_file is not None
            explores = load_explores_file(explores_file)
    summary = ConversionReport(explores, report.warnings, report.errors).summary()

    for model, reason in report.errors.items():
        output.error(f"model {model} not deployed: {reason}")
    if not as_json:
        for warning in report.warnings[:MAX_WARNINGS_SHOWN]:
            output.warn(warning)
        if len(report.warnings) > MAX_WARNINGS_SHOWN:
            hidden = len(report.warnings) - MAX_WARNINGS_SHOWN
            output.note(f"… and {hidden} more warnings (--json lists them all)")
    if not explores:
        raise CliError(
            "Nothing to deploy: no explore"
            + (
                f" ({len(report.errors)} models have errors, listed above)" if report.errors else ""
            ),
            hint="Deploying nothing would remove every explore of the project: nothing was sent.",
        )

    name = (project_name or dbt_project_name or "").strip()
    if create and not name:
        raise UsageError("--create needs --project-name NAME (the explores file names no project)")

    keyless = oidc.OidcOptions(token=oidc_token, audience=oidc_audience)
    client, context = connect(output, project=project, keyless=keyless)
    created = False
    with client:
        if create:
            with output.progress(f"Creating project {name}") as step:
                answer = client.post("/api/v1/org/projects", {"name": name, "type": "DEFAULT"})
                step.advance()
            # Lightdash's `{project, hasContentCopy, …}`; a bare project from older servers.
            new_project = answer.get("project", answer) if isinstance(answer, dict) else {}
            project_uuid = str(new_project.get("projectUuid"))
            label: str | None = str(new_project.get("name") or name)
            created = True
            output.note(f"Created project {label} ({project_uuid})")
            if context.uses_saved_server and context.project_source != Source.ENV and not is_ci():
                context.saved.project_uuid, context.saved.project_name = project_uuid, label
                save_config(context.saved)
                output.note("It is now the selected project (`lightkeeper config set-project`).")
        else:
            project_uuid = project_of(context)
            label = context.project_name  # known when it is the saved project
        with output.progress(f"Deploying {len(explores)} explores") as step:
            result = client.put(f"/api/v1/projects/{project_uuid}/explores", explores)
            step.advance()
    deployed = (
        int(result.get("explores", len(explores))) if isinstance(result, dict) else len(explores)
    )

    if as_json:
        output.json(
            {
                "project": {"projectUuid": project_uuid, "name": label, "created": created},
                "deployed": deployed,
                "summary": summary,
                "errors": report.errors,
                "warnings": report.warnings,
            }
        )
    else:
        where = f"project {label} ({project_uuid})" if label else f"project {project_uuid}"
        output.line(f"Deployed {deployed} explores to {where} at {context.url}")
        output.table(
            ("Explores", "Dimensions", "Metrics", "Joins", "Warnings", "Errors"),
            [
                (
                    summary["explores"],
                    summary["dimensions"],
                    summary["metrics"],
                    summary["joins"],
                    summary["warnings"],
                    summary["errors"],
                )
            ],
        )
    if report.errors:
        raise CliError(
            f"{len(report.errors)} model{'s' if len(report.errors) != 1 else ''} with errors "
            f"{'were' if len(report.errors) != 1 else 'was'} not deployed: "
            + ", ".join(report.errors),
            hint="Fix their meta and deploy again.",
            in_json=as_json,
        )
