"""What one server process holds: settings, the database, keys and caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lightkeeper.auth.cache import PrincipalCache, install_invalidation
from lightkeeper.config import Settings
from lightkeeper.db import make_engine, make_sessionmaker, writer_bind
from lightkeeper.kit.crypto import Passwords, SecretBox
from lightkeeper.kit.jwks import KeySets
from lightkeeper.kit.ratelimit import SlidingWindow
from lightkeeper.kit.tokens import Keyring
from lightkeeper.reads import Reads, reads_for


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring
    secret_box: SecretBox
    passwords: Passwords
    # Token failures per IP: kept in memory on purpose, so garbage never makes the server write.
    token_failures: SlidingWindow = field(default_factory=lambda: SlidingWindow(900, 100))
    principal_cache: PrincipalCache = field(default_factory=PrincipalCache)
    # OIDC issuers' public keys (workload identity), by issuer and kid.
    key_sets: KeySets = field(default_factory=KeySets)
    # Leaked-token reports per client address (unauthenticated endpoint).
    leak_reports: SlidingWindow = field(default_factory=lambda: SlidingWindow(60, 30))
    # Set by the health check once an organization exists (they are never deleted).
    organization_exists: bool = False

    @cached_property
    def writer_engine(self) -> Engine:
        return writer_bind(self.engine)

    @cached_property
    def reads(self) -> Reads:
        """The event loop's reads (`lightkeeper.reads`), opened on first use."""
        return reads_for(self.engine)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        settings.validate_for_start()
        secret = settings.server_secret()
        engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        cache = PrincipalCache.for_engine(engine)
        install_invalidation(sessions, cache)
        if settings.oidc_allow_http_issuers:
            structlog.get_logger().warning(
                "oidc.http_issuers_allowed",
                detail="LIGHTKEEPER_OIDC_ALLOW_HTTP_ISSUERS=true: plain-http identity token "
                "issuers are trusted. For tests only; never in production.",
            )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            principal_cache=cache,
            key_sets=KeySets(allow_http=settings.oidc_allow_http_issuers),
            keyring=Keyring(secret, settings.previous_secret_list),
            secret_box=SecretBox(secret, settings.previous_secret_list),
            passwords=Passwords(cheap=settings.password_hash_cheap),
        )

    def close(self) -> None:
        """Release what the process holds: the cache's listener, then the database connections."""
        self.principal_cache.close()
        self.close_reads()
        self.engine.dispose()

    def close_reads(self) -> None:
        """Close the event loop's read connections, if any were opened."""
        if "reads" in self.__dict__:
            self.reads.close()
