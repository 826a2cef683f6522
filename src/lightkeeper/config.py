"""Every setting Lightkeeper reads, in one place.

Names follow Lightdash's where Lightdash has one, so an existing deployment's
environment carries over. Values come from the environment and from a `.env`
file in the working directory.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ORG_ROLE_NAMES = ("member", "viewer", "interactive_viewer", "editor", "developer", "admin")


class ConfigError(Exception):
    """A setting has a value the server cannot start with; the message names the variable."""


def parse_size(value: str | int) -> int:
    """Parse Lightdash's payload size format (`50mb`, `512kb`, `1gb`, or plain bytes)."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*(b|kb|mb|gb)?\s*", value.lower())
    if not match:
        raise ConfigError(
            f"LIGHTDASH_MAX_PAYLOAD must look like 50mb, 512kb or 1048576, not {value!r}"
        )
    unit = {"b": 1, None: 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}[match.group(2)]
    return int(match.group(1)) * unit


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    pg_connection_uri: str | None = Field(default=None, alias="PGCONNECTIONURI")
    pg_host: str | None = Field(default=None, alias="PGHOST")
    pg_port: str | None = Field(default=None, alias="PGPORT")
    pg_user: str | None = Field(default=None, alias="PGUSER")
    pg_password: str | None = Field(default=None, alias="PGPASSWORD")
    pg_database: str | None = Field(default=None, alias="PGDATABASE")

    data_dir: Path = Field(default=Path(".lightkeeper"), alias="LIGHTKEEPER_DATA_DIR")
    env: str = Field(default="development", alias="LIGHTKEEPER_ENV")
    node_env: str | None = Field(default=None, alias="NODE_ENV")
    secret: str | None = Field(default=None, alias="LIGHTDASH_SECRET")
    previous_secrets: str = Field(default="", alias="LIGHTKEEPER_PREVIOUS_SECRETS")

    site_url: str = Field(default="http://localhost:8080", alias="SITE_URL")
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8080, alias="PORT")

    service_account_enabled: bool = Field(default=False, alias="SERVICE_ACCOUNT_ENABLED")
    custom_roles_enabled: bool = Field(default=False, alias="CUSTOM_ROLES_ENABLED")
    license_key: str = Field(default="", alias="LIGHTDASH_LICENSE_KEY")

    max_payload: str = Field(default="50mb", alias="LIGHTDASH_MAX_PAYLOAD")
    trust_proxy: bool = Field(default=False, alias="TRUST_PROXY")
    trust_proxy_hops: str | int = Field(default=1, alias="TRUST_PROXY_HOPS")
    secure_cookies: bool = Field(default=False, alias="SECURE_COOKIES")
    cookies_max_age_hours: float = Field(default=24, alias="COOKIES_MAX_AGE_HOURS")

    pat_enabled: bool = Field(default=True, alias="PAT_ENABLED")
    pat_allowed_org_roles: str = Field(default="", alias="PAT_ALLOWED_ORG_ROLES")
    pat_max_expiration_time_in_days: int | None = Field(
        default=None, alias="PAT_MAX_EXPIRATION_TIME_IN_DAYS"
    )

    # Queries (queries/): Lightdash's limits, then Lightkeeper's own for the runner.
    warehouse_dirs: str = Field(default="", alias="LIGHTKEEPER_WAREHOUSE_DIRS")
    query_max_limit: int = Field(default=5000, alias="LIGHTDASH_QUERY_MAX_LIMIT")
    query_default_limit: int = Field(default=500, alias="LIGHTDASH_QUERY_DEFAULT_LIMIT")
    query_max_page_size: int = Field(default=2500, alias="LIGHTDASH_QUERY_MAX_PAGE_SIZE")
    csv_cells_limit: int = Field(default=100000, alias="LIGHTDASH_CSV_CELLS_LIMIT")
    query_concurrency: int = Field(default=4, alias="LIGHTKEEPER_QUERY_CONCURRENCY")
    query_queue_size: int = Field(default=32, alias="LIGHTKEEPER_QUERY_QUEUE_SIZE")
    query_timeout_seconds: float = Field(default=300, alias="LIGHTKEEPER_QUERY_TIMEOUT_SECONDS")
    query_results_ttl_seconds: int = Field(
        default=86400, alias="LIGHTKEEPER_QUERY_RESULTS_TTL_SECONDS"
    )
    query_rate_limit_per_minute: int = Field(
        default=120, alias="LIGHTKEEPER_QUERY_RATE_LIMIT_PER_MINUTE"
    )
    # Workload identity: accept plain-http OIDC issuers (tests only; start-up warns).
    oidc_allow_http_issuers: bool = Field(
        default=False, alias="LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS"
    )

    migrate_on_start: bool = Field(default=True, alias="LIGHTKEEPER_MIGRATE_ON_START")
    # The first organization gets the demo project (project/demo.py); `serve --demo` sets it.
    demo: bool = Field(default=False, alias="LIGHTKEEPER_DEMO")
    log_level: str = Field(default="info", alias="LOG_LEVEL")
    log_format: Literal["json", "console"] = Field(default="json", alias="LIGHTKEEPER_LOG_FORMAT")
    # Tests lower the argon2 cost; production keeps the library's RFC 9106 defaults.
    password_hash_cheap: bool = Field(default=False, alias="LIGHTKEEPER_CHEAP_PASSWORD_HASH")

    @field_validator("pat_max_expiration_time_in_days", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    # -- derived values -------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env == "production" or self.node_env == "production"

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: DATABASE_URL, else Lightdash's PG variables, else SQLite."""
        url = self.database_url or self.pg_connection_uri
        if not url and self.pg_host:
            auth = quote(self.pg_user or "postgres")
            if self.pg_password:
                auth += ":" + quote(self.pg_password)
            url = (
                f"postgresql://{auth}@{self.pg_host}:{self.pg_port or 5432}/"
                f"{self.pg_database or 'postgres'}"
            )
        if not url:
            return f"sqlite:///{(self.data_dir / 'lightkeeper.db').resolve()}"
        # psycopg 3 is the driver we ship; plain postgresql:// URLs mean it.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def has_enterprise_license(self) -> bool:
        # Validation is local and pluggable: no license server is reachable.
        return bool(self.license_key.strip())

    @property
    def is_service_account_enabled(self) -> bool:
        return self.service_account_enabled and self.has_enterprise_license

    @property
    def is_custom_roles_enabled(self) -> bool:
        return self.custom_roles_enabled and self.has_enterprise_license

    @property
    def max_payload_bytes(self) -> int:
        return parse_size(self.max_payload)

    @property
    def proxy_hops(self) -> int:
        """How many trusted proxies append to X-Forwarded-For (kit.http.forwarded_entry)."""
        value = str(self.trust_proxy_hops).strip()
        if not value.isdigit() or not 1 <= int(value) <= 16:
            raise ConfigError(
                f"TRUST_PROXY_HOPS must be a whole number from 1 to 16 (the number of proxies "
                f"in front of the server), not {self.trust_proxy_hops!r}"
            )
        return int(value)

    @property
    def pat_allowed_roles(self) -> tuple[str, ...]:
        names = tuple(r.strip() for r in self.pat_allowed_org_roles.split(",") if r.strip())
        return names or ORG_ROLE_NAMES

    @property
    def previous_secret_list(self) -> list[str]:
        return [s.strip() for s in self.previous_secrets.split(",") if s.strip()]

    @property
    def warehouse_dir_list(self) -> list[Path]:
        """Folders a DuckDB warehouse file may live in (comma-separated); default the data dir."""
        named = [Path(d.strip()) for d in self.warehouse_dirs.split(",") if d.strip()]
        return [p.expanduser().resolve() for p in (named or [self.data_dir])]

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.data_dir

    def server_secret(self) -> str:
        """LIGHTDASH_SECRET; in development a generated one kept in the data directory.

        The generated file is created atomically (O_EXCL) so concurrent worker
        processes agree on one secret.
        """
        if self.secret:
            return self.secret
        if self.is_production:
            raise ConfigError(
                "LIGHTDASH_SECRET is required when LIGHTKEEPER_ENV=production: "
                "set it to a long random string (e.g. `openssl rand -hex 32`)"
            )
        path = self.ensure_data_dir() / "secret.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):  # another process may be between create and write
                value = path.read_text().strip()
                if value:
                    return value
                time.sleep(0.02)
            raise ConfigError(f"{path} is empty: delete it or set LIGHTDASH_SECRET") from None
        tmp_value = secrets.token_hex(32)
        with os.fdopen(fd, "w") as handle:
            handle.write(tmp_value)
        return tmp_value

    def validate_for_start(self) -> None:
        """Fail fast, naming the variable, on values the server cannot run with."""
        self.max_payload_bytes  # noqa: B018 - raises ConfigError on a bad value
        self.proxy_hops  # noqa: B018 - raises ConfigError on a bad value
        self.server_secret()
        if (
            self.pat_max_expiration_time_in_days is not None
            and self.pat_max_expiration_time_in_days < 1
        ):
            raise ConfigError(
                "PAT_MAX_EXPIRATION_TIME_IN_DAYS must be a whole number of days, 1 or more (or unset)"
            )
        for name, value, least in (
            ("LIGHTDASH_QUERY_MAX_LIMIT", self.query_max_limit, 1),
            ("LIGHTDASH_QUERY_DEFAULT_LIMIT", self.query_default_limit, 1),
            ("LIGHTDASH_QUERY_MAX_PAGE_SIZE", self.query_max_page_size, 1),
            ("LIGHTDASH_CSV_CELLS_LIMIT", self.csv_cells_limit, 1),
            ("LIGHTKEEPER_QUERY_CONCURRENCY", self.query_concurrency, 1),
            ("LIGHTKEEPER_QUERY_QUEUE_SIZE", self.query_queue_size, 0),
            ("LIGHTKEEPER_QUERY_RESULTS_TTL_SECONDS", self.query_results_ttl_seconds, 1),
            ("LIGHTKEEPER_QUERY_RATE_LIMIT_PER_MINUTE", self.query_rate_limit_per_minute, 1),
        ):
            if value < least:
                raise ConfigError(f"{name} must be a whole number, {least} or more, not {value}")
        if self.query_timeout_seconds <= 0:
            raise ConfigError(
                "LIGHTKEEPER_QUERY_TIMEOUT_SECONDS must be a number of seconds above 0"
            )
        unknown = [r for r in self.pat_allowed_roles if r not in ORG_ROLE_NAMES]
        if unknown:
            raise ConfigError(
                f"PAT_ALLOWED_ORG_ROLES has unknown roles {', '.join(unknown)}; "
                f"use any of {', '.join(ORG_ROLE_NAMES)}"
            )
