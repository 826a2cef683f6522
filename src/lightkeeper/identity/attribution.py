"""Attribution: how `createdBy` / `updatedByUser` and audit targets name a principal, everywhere.

`{userUuid, firstName, lastName}`. A service account's principal row carries
its description as `first_name` (kept in sync on edit, and kept after the
account is deleted), so it shows as itself with no extra lookup. Removed
members keep their row (retired), so their name keeps resolving.
`kit.names.display_name` is the one way to name a person in a page or a log label.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lightkeeper.kit.names import display_name
from lightkeeper.kit.schemas import CamelModel
from lightkeeper.models import User


class UserRef(CamelModel):
    """A person, or a service account (its description as firstName, lastName empty)."""

    user_uuid: str
    first_name: str
    last_name: str


def user_label(user: User) -> str:
    """A person's (or service account's) name in an audit label or a message: name, email or id."""
    return display_name(user.first_name, user.last_name, user.email or user.uuid)


class Person(Protocol):
    """What a reference reads of a principal: an ORM `User` or a row of these columns."""

    @property
    def uuid(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def is_service_account(self) -> bool: ...
    @property
    def email(self) -> str | None: ...


def user_ref(user: Person | None) -> UserRef | None:
    if user is None:
        return None
    last = "" if user.is_service_account else user.last_name
    return UserRef(user_uuid=user.uuid, first_name=user.first_name, last_name=last)


_USERS_BY_UUID = select(User).where(User.uuid.in_(bindparam("uuids", expanding=True)))


def user_refs(session: Session, uuids: Iterable[str | None]) -> dict[str, UserRef]:
    """References for many principals in one query; unknown ids are simply absent."""
    wanted = {u for u in uuids if u}
    if not wanted:
        return {}
    users = session.scalars(_USERS_BY_UUID, {"uuids": list(wanted)})
    return {user.uuid: ref for user in users if (ref := user_ref(user)) is not None}


def ref(refs: dict[str, UserRef], uuid: str | None) -> UserRef | None:
    return refs.get(uuid) if uuid else None
