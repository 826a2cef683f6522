"""Content as code on disk: one YAML file per chart or dashboard.

Layout: `DIR/charts/<slug>.yml` and `DIR/dashboards/<slug>.yml` (Lightdash's flat layout).

Files are meant to be read, diffed and edited:
- top-level keys in the wire format's order (`version`, `name`, `description`, `slug`, …),
  nested mappings sorted by key, so a download is byte-for-byte stable whatever the server's
  database returns; multi-line strings as `|` blocks;
- `downloadedAt` (as Lightdash's files) and `downloadedContentHash`: a digest of the content as
  downloaded. `lightkeeper upload` skips a file whose content still has that digest (nothing
  changed locally) unless `--force`, so an untouched file never overwrites a change made in
  the web app since the download. Neither key is sent to the server.

Reading is YAML 1.2-like where it matters: dates stay strings, and only true/false are booleans
(so a country code `NO` stays the string "NO").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the lock file

DEFAULT_DIR = "lightdash"
DOWNLOADED_AT = "downloadedAt"
CONTENT_HASH = "downloadedContentHash"
LOCAL_KEYS = frozenset({DOWNLOADED_AT, CONTENT_HASH})
# Not part of what a document says: the server sets it, and ignores it on upload.
VOLATILE_KEYS = LOCAL_KEYS | {"updatedAt"}
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")

HEADER = (
    "# Lightkeeper content as code ({kind}). Edit freely, then `lightkeeper upload`.\n"
    "# downloadedAt and downloadedContentHash are local: upload skips this file while its\n"
    "# content is unchanged since the download (use --force to upload it anyway).\n"
)


class Kind(StrEnum):
    CHART = "chart"
    DASHBOARD = "dashboard"

    @property
    def folder(self) -> str:
        return f"{self.value}s"

    @property
    def key_order(self) -> tuple[str, ...]:
        if self is Kind.CHART:
            return (
                "version",
                "name",
                "description",
                "slug",
                "spaceSlug",
                "tableName",
                "metricQuery",
                "chartConfig",
                "tableConfig",
            )
        return ("version", "name", "description", "slug", "spaceSlug", "tiles", "filters")


TILE_KEY_ORDER = ("type", "x", "y", "h", "w", "properties")


class ContentFileError(Exception):
    """A file cannot be used as a chart or dashboard document; the message says why."""


# -- YAML dialect ------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Safe YAML with `|` blocks for multi-line strings and indented lists."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML without YAML 1.1 surprises: no timestamps, booleans only true/false."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


# -- documents ---------------------------------------------------------------------


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _ordered(document: Mapping[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """Known keys in `order`, others sorted, then updatedAt and the local keys."""
    tail = ("updatedAt", DOWNLOADED_AT, CONTENT_HASH)
    result = {key: document[key] for key in order if key in document}
    for key in sorted(k for k in document if k not in result and k not in tail):
        result[key] = document[key]
    for key in tail:
        if key in document:
            result[key] = document[key]
    return result


def normalize(kind: Kind, document: Mapping[str, Any]) -> dict[str, Any]:
    """The document in the file's stable order (top level as the wire format, nested sorted)."""
    normalized = {key: _sorted(value) for key, value in document.items()}
    if kind is Kind.DASHBOARD and isinstance(normalized.get("tiles"), list):
        normalized["tiles"] = [
            _ordered(tile, TILE_KEY_ORDER) if isinstance(tile, dict) else tile
            for tile in normalized["tiles"]
        ]
    return _ordered(normalized, kind.key_order)


def content_hash(document: Mapping[str, Any]) -> str:
    """A digest of what the document says (volatile and local keys left out)."""
    meaningful = {k: v for k, v in document.items() if k not in VOLATILE_KEYS}
    canonical = json.dumps(meaningful, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def to_yaml(kind: Kind, document: Mapping[str, Any]) -> str:
    body: str = yaml.dump(
        normalize(kind, document),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return HEADER.format(kind=kind.value) + body


def check_slug(slug: Any) -> str:
    """A slug usable as a file name and URL segment; ContentFileError otherwise."""
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise ContentFileError(
            f"{slug!r} is not a usable slug (letters, digits, - and _, starting with a "
            "letter or digit)"
        )
    return slug


def path_for(root: Path, kind: Kind, slug: str) -> Path:
    return root / kind.folder / f"{check_slug(slug)}.yml"


def write_document(root: Path, kind: Kind, document: Mapping[str, Any], downloaded_at: str) -> Path:
    """Write one downloaded document to its file (atomically), with the local keys."""
    path = path_for(root, kind, check_slug(document.get("slug")))
    local = {k: v for k, v in document.items() if k not in LOCAL_KEYS}
    normalized = normalize(kind, local)
    normalized[DOWNLOADED_AT] = downloaded_at
    normalized[CONTENT_HASH] = content_hash(normalized)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(to_yaml(kind, normalized))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


@dataclass
class ContentFile:
    """One file read for upload."""

    kind: Kind
    path: Path
    slug: str
    document: dict[str, Any]
    changed_locally: bool

    def body(self) -> dict[str, Any]:
        """What is sent: the document without the local keys."""
        return {k: v for k, v in self.document.items() if k not in LOCAL_KEYS}


def read_document(kind: Kind, path: Path) -> ContentFile:
    """Read one file; ContentFileError naming the problem when it is not a usable document."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ContentFileError(f"cannot be read: {error}") from None
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ContentFileError(f"is not valid YAML{where}: {problem}") from None
    if not isinstance(document, dict):
        raise ContentFileError(f"is not a {kind.value} document (expected a mapping of fields)")
    document = {str(k): v for k, v in document.items()}
    slug = document.get("slug")
    if slug is None:
        slug = path.stem
        document["slug"] = slug
    check_slug(slug)
    recorded = document.get(CONTENT_HASH)
    changed = not isinstance(recorded, str) or recorded != content_hash(document)
    return ContentFile(kind, path, str(slug), document, changed)


def list_files(root: Path, kind: Kind) -> list[Path]:
    """The kind's files under `root`, sorted by name (`.yml` and `.yaml`)."""
    folder = root / kind.folder
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix in (".yml", ".yaml") and not p.name.startswith(".")
    )
