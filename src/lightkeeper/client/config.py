"""Where the API client's server, token and project come from, and the saved config file.

Precedence, field by field: command-line flags, then the environment (`LIGHTDASH_URL`,
`LIGHTDASH_API_KEY`, `LIGHTDASH_PROJECT`, Lightdash's CLI names), then the config file that
`lightkeeper login` writes (`$XDG_CONFIG_HOME/lightkeeper/config.yaml`, by default
`~/.config/lightkeeper/config.yaml`; mode 0600, written atomically).

The saved token and project belong to the saved server: when the URL comes from a flag or the
environment and names another server, they are not used, so a token is never sent to a server
it was not saved for.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]  # no types-PyYAML in the lock file

ENV_URL = "LIGHTDASH_URL"
ENV_TOKEN = "LIGHTDASH_API_KEY"  # noqa: S105 - a variable name, not a secret
ENV_PROJECT = "LIGHTDASH_PROJECT"
APP_DIR = "lightkeeper"
CONFIG_FILE = "config.yaml"


class ConfigError(Exception):
    """The config file or a configuration value is unusable; the message says how to fix it."""


class Source(StrEnum):
    """Where a value came from, to name the right thing to fix when it is wrong."""

    FLAG = "flag"
    ENV = "env"
    CONFIG = "config"
    OIDC = "oidc"  # exchanged for the CI job's identity token (client/oidc.py)


def is_ci() -> bool:
    """`CI=true` (any case, or 1): never prompt."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def can_prompt() -> bool:
    """Prompts need a person: not in CI, and stdin and stdout on a terminal."""
    return not is_ci() and sys.stdin.isatty() and sys.stdout.isatty()


def config_dir() -> Path:
    """The user's config directory for Lightkeeper (XDG_CONFIG_HOME respected)."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    elif sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path.home() / ".config"
    return base / APP_DIR


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def normalize_url(raw: str) -> str:
    """A server URL: scheme added when missing (http for localhost, else https), no trailing /.

    Raises ConfigError when it is not an http(s) URL with a host.
    """
    text = raw.strip()
    if not text:
        raise ConfigError("The server URL is empty")
    if "://" not in text:
        host = text.split("/", 1)[0].split(":", 1)[0].lower()
        local = host in ("localhost", "127.0.0.1", "[::1]") or host.endswith(".localhost")
        text = f"{'http' if local else 'https'}://{text}"
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ConfigError(f"{raw!r} is not a valid URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{raw!r} is not an http(s) URL, e.g. https://lightdash.example.com")
    if url.query or url.fragment:
        raise ConfigError(f"{raw!r}: give the server's address only, without ?query or #fragment")
    return str(url).rstrip("/")


@dataclass
class SavedConfig:
    """The config file's content (Lightdash's layout: `context` and `user`)."""

    url: str | None = None
    token: str | None = None
    project_uuid: str | None = None
    project_name: str | None = None
    user: dict[str, Any] | None = None

    def to_document(self) -> dict[str, Any]:
        context: dict[str, Any] = {"serverUrl": self.url, "apiKey": self.token}
        if self.project_uuid:
            context["project"] = self.project_uuid
            context["projectName"] = self.project_name
        document: dict[str, Any] = {"context": context}
        if self.user:
            document["user"] = self.user
        return document


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def load_config(path: Path | None = None) -> SavedConfig:
    """The saved config; an empty one when the file does not exist.

    Raises ConfigError naming the file when it cannot be read or is not a mapping.
    """
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SavedConfig()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Cannot read the config file {path}: {error}") from None
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise ConfigError(
            f"The config file {path} is not valid YAML: delete it and run `lightkeeper login`"
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(
            f"The config file {path} is not a mapping: delete it and run `lightkeeper login`"
        )
    found = document.get("context")
    context: dict[str, Any] = found if isinstance(found, dict) else {}
    user = document.get("user")
    user = user if isinstance(user, dict) else None
    url = _text(context.get("serverUrl"))
    return SavedConfig(
        url=url.rstrip("/") if url else None,
        token=_text(context.get("apiKey")),
        project_uuid=_text(context.get("project")),
        project_name=_text(context.get("projectName")),
        user=user,
    )


def save_config(config: SavedConfig, path: Path | None = None) -> Path:
    """Write the config atomically (temporary file, then rename) with mode 0600.

    The directory is created 0700. Readers never see a half-written file, and the
    token is never readable by other users, not even for a moment.
    """
    path = path or config_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise ConfigError(f"Cannot write the config file {path}: {error}") from None
    try:
        os.fchmod(fd, 0o600)  # mkstemp already creates 0600; make it explicit
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(
                "# Written by `lightkeeper login`. Contains a secret token: keep it 0600.\n"
            )
            yaml.safe_dump(config.to_document(), handle, sort_keys=False, allow_unicode=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"Cannot write the config file {path}: {error}") from None
    return path


def loose_permissions(path: Path) -> bool:
    """True when others than the owner may read or write the config file."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO)) and sys.platform != "win32"


@dataclass
class Context:
    """The resolved server, token and project, each with where it came from."""

    url: str | None
    url_source: Source | None
    token: str | None
    token_source: Source | None
    project_uuid: str | None
    project_source: Source | None
    project_name: str | None
    saved: SavedConfig
    path: Path

    @property
    def uses_saved_server(self) -> bool:
        """The saved login is for the server in use (so its project may be updated)."""
        return self.url is not None and self.saved.url == self.url


def _env(name: str) -> str | None:
    return _text(os.environ.get(name))


def resolve(
    *,
    url: str | None = None,
    token: str | None = None,
    project: str | None = None,
    path: Path | None = None,
) -> Context:
    """Resolve the context: flags, then the environment, then the saved config.

    Raises ConfigError for an unreadable config file or a malformed URL.
    """
    path = path or config_path()
    saved = load_config(path)

    url_value, url_source = url, Source.FLAG if url else None
    if url_value is None and _env(ENV_URL):
        url_value, url_source = _env(ENV_URL), Source.ENV
    if url_value is not None:
        try:
            url_value = normalize_url(url_value)
        except ConfigError as error:
            where = ENV_URL if url_source == Source.ENV else "the URL"
            raise ConfigError(f"{where}: {error}") from None
    elif saved.url:
        url_value, url_source = saved.url, Source.CONFIG

    same_server = url_value is not None and saved.url == url_value

    token_value, token_source = token, Source.FLAG if token else None
    if token_value is None and _env(ENV_TOKEN):
        token_value, token_source = _env(ENV_TOKEN), Source.ENV
    if token_value is None and same_server and saved.token:
        token_value, token_source = saved.token, Source.CONFIG

    project_value, project_source = project, Source.FLAG if project else None
    if project_value is None and _env(ENV_PROJECT):
        project_value, project_source = _env(ENV_PROJECT), Source.ENV
    if project_value is None and same_server and saved.project_uuid:
        project_value, project_source = saved.project_uuid, Source.CONFIG
    project_name = (
        saved.project_name if same_server and project_value == saved.project_uuid else None
    )

    return Context(
        url=url_value,
        url_source=url_source,
        token=token_value,
        token_source=token_source,
        project_uuid=project_value,
        project_source=project_source,
        project_name=project_name,
        saved=saved,
        path=path,
    )
