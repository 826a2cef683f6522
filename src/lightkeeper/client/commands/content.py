"""`lightkeeper download` and `lightkeeper upload`: charts and dashboards as code.

download: `GET /api/v1/projects/{p}/charts/code?offset=` (pages of 100 until `total`), likewise
`dashboards/code`; one YAML file per item under `DIR/charts/` and `DIR/dashboards/`. As in
Lightdash's CLI: without filters everything is downloaded; `--charts` alone downloads only
those charts, `--dashboards` alone only those dashboards plus the charts their tiles show.

upload: `POST /api/v1/projects/{p}/{charts|dashboards}/{slug}/code`, charts first (dashboards
name their charts by slug), reporting per file created / updated / unchanged / failed. A file
whose content is unchanged since its download is not sent unless `--force` or its slug does
not exist in the project yet, so an untouched file never reverts an edit made in the web app.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from lightkeeper.client.commands.common import JsonOption, ProjectOption, connect, project_of
from lightkeeper.client.content_files import (
    DEFAULT_DIR,
    ContentFile,
    ContentFileError,
    Kind,
    list_files,
    read_document,
    write_document,
)
from lightkeeper.client.http import ApiClient, ApiError, CliError, field_errors
from lightkeeper.client.output import Output, UsageError, handle_errors

_CONTENT_URL = re.compile(r"https?://.+/(?:saved|dashboards)/([0-9a-fA-F-]{36})")
TABLE_LIMIT = 100
PathOption = typer.Option(
    Path(DEFAULT_DIR), "--path", help="Folder holding charts/ and dashboards/.", file_okay=False
)


def parse_filters(values: list[str] | None) -> list[str]:
    """Slugs, uuids or URLs of the web app; repeatable or comma-separated; order kept, once."""
    found: dict[str, None] = {}
    for value in values or []:
        for part in value.split(","):
            item = part.strip()
            if not item:
                continue
            match = _CONTENT_URL.match(item)
            found.setdefault(match.group(1) if match else item, None)
    return list(found)


def fetch(
    client: ApiClient, project: str, kind: Kind, ids: list[str], output: Output
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every document of one kind (pages of 100), and the requested ids that matched nothing."""
    key = kind.folder
    documents: list[dict[str, Any]] = []
    missing: dict[str, None] = {}
    offset = 0
    with output.progress(f"Downloading {key}") as step:
        while True:
            params: dict[str, Any] = {"offset": offset}
            if ids:
                params["ids"] = ids
            page = client.get(f"/api/v1/projects/{project}/{key}/code", params=params) or {}
            items = [d for d in page.get(key) or [] if isinstance(d, dict)]
            for missing_id in page.get("missingIds") or []:
                missing.setdefault(str(missing_id), None)
            documents.extend(items)
            total = int(page.get("total") or 0)
            step.update(total=total)
            step.advance(len(items))
            offset += len(items)
            if not items or offset >= total:
                break
    return documents, list(missing)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@handle_errors
def download(
    charts: list[str] | None = typer.Option(
        None,
        "--charts",
        help="Charts to download: slugs, uuids or URLs (repeat or separate with commas).",
        show_default=False,
    ),
    dashboards: list[str] | None = typer.Option(
        None,
        "--dashboards",
        help="Dashboards to download (and the charts they show): slugs, uuids or URLs.",
        show_default=False,
    ),
    path: Path = PathOption,
    project: str | None = ProjectOption,
    as_json: bool = JsonOption,
) -> None:
    """Download charts and dashboards as YAML files (DIR/charts/<slug>.yml, DIR/dashboards/…)."""
    output = Output(as_json)
    chart_ids, dashboard_ids = parse_filters(charts), parse_filters(dashboards)
    filtered = bool(chart_ids or dashboard_ids)
    client, context = connect(output, project=project)
    project_uuid = project_of(context)
    downloaded_at = now_iso()
    written: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    missing: dict[str, list[str]] = {"charts": [], "dashboards": []}

    def save(kind: Kind, documents: list[dict[str, Any]]) -> None:
        for document in documents:
            slug = document.get("slug")
            try:
                file = write_document(path, kind, document, downloaded_at)
            except ContentFileError as error:
                failed.append({"kind": kind.value, "slug": slug, "error": str(error)})
            except OSError as error:
                raise CliError(f"Cannot write to {path}: {error}") from None
            else:
                written.append(
                    {
                        "kind": kind.value,
                        "slug": slug,
                        "name": document.get("name"),
                        "spaceSlug": document.get("spaceSlug"),
                        "file": str(file),
                    }
                )

    with client:
        saved_charts: set[str] = set()
        if not filtered or chart_ids:
            documents, missing["charts"] = fetch(
                client, project_uuid, Kind.CHART, chart_ids, output
            )
            save(Kind.CHART, documents)
            saved_charts = {str(d.get("slug")) for d in documents}
        if not filtered or dashboard_ids:
            documents, missing["dashboards"] = fetch(
                client, project_uuid, Kind.DASHBOARD, dashboard_ids, output
            )
            save(Kind.DASHBOARD, documents)
            if filtered:
                linked = {
                    str(tile["properties"]["chartSlug"])
                    for d in documents
                    for tile in d.get("tiles") or []
                    if isinstance(tile, dict)
                    and isinstance(tile.get("properties"), dict)
                    and tile["properties"].get("chartSlug")
                }
                wanted = sorted(linked - saved_charts)
                if wanted:
                    documents, _ = fetch(client, project_uuid, Kind.CHART, wanted, output)
                    save(Kind.CHART, documents)

    counts = {
        kind.folder: sum(1 for w in written if w["kind"] == kind.value)
        for kind in (Kind.CHART, Kind.DASHBOARD)
    }
    if as_json:
        output.json(
            {
                "project": project_uuid,
                "path": str(path),
                "files": written,
                "counts": counts,
                "missing": missing,
                "failed": failed,
            }
        )
    else:
        if 0 < len(written) <= TABLE_LIMIT:
            output.table(
                ("Kind", "Slug", "Name", "File"),
                [(w["kind"], w["slug"], w["name"], w["file"]) for w in written],
            )
        output.line(
            f"Downloaded {plural(counts['charts'], 'chart')} and "
            f"{plural(counts['dashboards'], 'dashboard')} to {path}"
        )
    for folder, ids in missing.items():
        for missing_id in ids:
            output.warn(f"no {folder[:-1]} {missing_id!r} in this project (or you may not view it)")
    for item in failed:
        output.error(f"{item['kind']} {item['slug']!r} not written: {item['error']}")
    if failed or any(missing.values()):
        problems = len(failed) + sum(len(ids) for ids in missing.values())
        raise CliError(
            f"{problems} item(s) could not be downloaded (listed above)", in_json=as_json
        )


# -- upload ------------------------------------------------------------------------

NOT_EDITED = "not edited since download"
RESULT_OF_ACTION = {"create": "created", "update": "updated", "no changes": "unchanged"}


def existing_slugs(client: ApiClient, project: str, kind: Kind) -> set[str] | None:
    """Slugs of the project's charts or dashboards; None when the caller may not list them."""
    try:
        items = client.get(f"/api/v1/projects/{project}/{kind.folder}") or []
    except ApiError as error:
        if error.status in (401, 404):  # a bad token or an unknown project: nothing would work
            raise
        return None
    return {str(item.get("slug")) for item in items if isinstance(item, dict)}


@handle_errors
def upload(
    path: Path = PathOption,
    force: bool = typer.Option(
        False, "--force", help="Upload every file, also those unchanged since their download."
    ),
    project: str | None = ProjectOption,
    as_json: bool = JsonOption,
) -> None:
    """Upload YAML charts and dashboards: created / updated / unchanged / failed per file."""
    output = Output(as_json)
    if not path.is_dir():
        raise UsageError(
            f"{path} is not a folder", hint="Run `lightkeeper download` first, or pass --path DIR."
        )
    results: list[dict[str, Any]] = []
    files: list[ContentFile] = []
    slugs_seen: dict[tuple[Kind, str], Path] = {}
    for kind in (Kind.CHART, Kind.DASHBOARD):
        for file_path in list_files(path, kind):
            try:
                content = read_document(kind, file_path)
            except ContentFileError as error:
                results.append(
                    _result(kind, None, file_path, "failed", f"{file_path.name} {error}")
                )
                continue
            other = slugs_seen.get((kind, content.slug))
            if other is not None:
                detail = f"slug {content.slug!r} is also the slug of {other.name}"
                results.append(_result(kind, content.slug, file_path, "failed", detail))
                continue
            slugs_seen[(kind, content.slug)] = file_path
            files.append(content)
    if not files and not results:
        raise CliError(
            f"No content in {path}: expected {path}/charts/*.yml or {path}/dashboards/*.yml",
            hint="Run `lightkeeper download` first, or pass --path DIR.",
        )

    client, context = connect(output, project=project)
    project_uuid = project_of(context)
    with client:
        existing: dict[Kind, set[str] | None] = {}
        if not force and any(not f.changed_locally for f in files):
            for kind in (Kind.CHART, Kind.DASHBOARD):
                existing[kind] = existing_slugs(client, project_uuid, kind)
        with output.progress("Uploading", total=len(files)) as step:
            for content in files:
                known = existing.get(content.kind)
                if not force and not content.changed_locally and content.slug in (known or ()):
                    detail = NOT_EDITED
                    results.append(
                        _result(content.kind, content.slug, content.path, "unchanged", detail)
                    )
                    step.advance()
                    continue
                results.append(_upload_one(client, project_uuid, content))
                step.advance(description=f"Uploading {content.kind.folder}")

    # Report in the order of the work: charts, then dashboards, each by file name.
    results.sort(key=lambda r: (r["kind"] != Kind.CHART.value, r["file"]))
    counts = {
        kind.folder: {
            state: sum(1 for r in results if r["kind"] == kind.value and r["result"] == state)
            for state in ("created", "updated", "unchanged", "failed")
        }
        for kind in (Kind.CHART, Kind.DASHBOARD)
    }
    failures = [r for r in results if r["result"] == "failed"]
    if as_json:
        output.json(
            {"project": project_uuid, "path": str(path), "files": results, "counts": counts}
        )
    else:
        output.table(
            ("Kind", "Slug", "File", "Result", "Detail"),
            [
                (r["kind"], r["slug"] or "-", Path(r["file"]).name, r["result"], r["detail"] or "")
                for r in results
            ],
        )
        for folder, states in counts.items():
            tally = ", ".join(f"{n} {state}" for state, n in states.items())
            output.line(f"{folder.capitalize()}: {tally}")
        skipped = [r for r in results if r["detail"] == NOT_EDITED]
        if skipped and len(skipped) == len(results):
            output.note("Nothing was edited since the download; --force uploads every file.")
        elif skipped:
            output.note(
                f"{plural(len(skipped), 'file')} not edited since the download "
                f"{'was' if len(skipped) == 1 else 'were'} not sent (--force sends them)."
            )
    if failures:
        raise CliError(
            f"{len(failures)} file{'s' if len(failures) != 1 else ''} failed to upload "
            "(listed above)",
            in_json=as_json,
        )


def _result(
    kind: Kind, slug: str | None, path: Path, result: str, detail: str | None
) -> dict[str, Any]:
    return {"kind": kind.value, "slug": slug, "file": str(path), "result": result, "detail": detail}


def _upload_one(client: ApiClient, project: str, content: ContentFile) -> dict[str, Any]:
    """POST one document; an API error fails this file only (but a rejected token stops all)."""
    url = f"/api/v1/projects/{project}/{content.kind.folder}/{content.slug}/code"
    try:
        answer = client.post(url, content.body()) or {}
    except ApiError as error:
        if error.status == 401:
            raise
        reason = " ".join([error.message, *field_errors(error)])
        return _result(content.kind, content.slug, content.path, "failed", reason)
    entries = answer.get(content.kind.folder) or [{}]
    action = str(entries[0].get("action", ""))
    result = RESULT_OF_ACTION.get(action, action or "updated")
    detail: str | None = None
    if result == "unchanged":
        detail = "same as on the server"
    return _result(content.kind, content.slug, content.path, result, detail)
