"""Dashboard comments: read, write, reply, resolve, delete."""

from __future__ import annotations

import html

from sqlalchemy.orm import Session

from lightkeeper.audit.actions import AuditAction, TargetType
from lightkeeper.audit.service import Target, changes, record
from lightkeeper.auth.principal import Principal
from lightkeeper.authz.access import allows, require
from lightkeeper.content import repository as repo
from lightkeeper.content.schemas import CommentAuthor, CommentIn, CommentOut, CommentUpdate
from lightkeeper.content.shared import Located, visible_content
from lightkeeper.identity.attribution import UserRef, ref, user_refs
from lightkeeper.kit.clock import utcnow
from lightkeeper.kit.errors import NotFoundError, ParameterError
from lightkeeper.kit.names import display_name
from lightkeeper.models import Dashboard, DashboardComment

SUBJECT = "DashboardComments"


def _allowed(principal: Principal, action: str, where: Located) -> bool:
    return allows(
        principal, action, SUBJECT, project=where.project_target, space=where.space_target
    )


# Comments on the dashboard itself (no tile) are keyed by "" in the keyed list.
NO_TILE = ""


def _author(reference: UserRef | None) -> CommentAuthor:
    if reference is None:
        return CommentAuthor(name="", user_uuid=None, first_name="", last_name="")
    return CommentAuthor(
        name=display_name(reference.first_name, reference.last_name, ""),
        user_uuid=reference.user_uuid,
        first_name=reference.first_name,
        last_name=reference.last_name,
    )


def _out(
    comment: DashboardComment, refs: dict[str, UserRef], principal: Principal, may_manage: bool
) -> CommentOut:
    """Lightdash's `Comment`; without a `textHtml` of its own, the text as one escaped
    paragraph."""
    return CommentOut(
        uuid=comment.uuid,
        comment_uuid=comment.uuid,
        comment_id=comment.uuid,
        dashboard_uuid=comment.dashboard_uuid,
        dashboard_tile_uuid=comment.dashboard_tile_uuid,
        reply_to=comment.reply_to,
        text=comment.text,
        text_html=comment.text_html or f"<p>{html.escape(comment.text)}</p>",
        mentions=list(comment.mentions or []),
        resolved=comment.resolved,
        created_at=comment.created_at,
        user=_author(ref(refs, comment.user_uuid)),
        can_remove=may_manage or comment.user_uuid == principal.user_uuid,
    )


def _dashboard(
    session: Session, principal: Principal, dashboard_uuid: str
) -> tuple[Dashboard, Located]:
    return visible_content(session, principal, Dashboard, dashboard_uuid, "Dashboard")


def list_comments(
    session: Session, principal: Principal, dashboard_uuid: str
) -> dict[str, list[CommentOut]]:
    """A dashboard's comments keyed by tile (Lightdash's shape): each tile's threads oldest
    first, replies (oldest first) under their comment's `replies`; a comment on the dashboard
    itself is under the key "".

    Rules: the dashboard's space must be visible (else 404);
    `view:DashboardComments` there (else 403).
    """
    _dash, where = _dashboard(session, principal, dashboard_uuid)
    require(_allowed(principal, "view", where))
    comments = repo.comments_of(session, dashboard_uuid)
    refs = user_refs(session, {c.user_uuid for c in comments})
    may_manage = _allowed(principal, "manage", where)
    outs = {c.uuid: _out(c, refs, principal, may_manage) for c in comments}
    keyed: dict[str, list[CommentOut]] = {}
    for comment in comments:
        out = outs[comment.uuid]
        parent = outs.get(comment.reply_to) if comment.reply_to else None
        if parent is not None:
            parent.replies = [*(parent.replies or []), out]
        else:
            out.replies = []
            keyed.setdefault(comment.dashboard_tile_uuid or NO_TILE, []).append(out)
    return keyed


def add_comment(
    session: Session, principal: Principal, dashboard_uuid: str, body: CommentIn
) -> CommentOut:
    """Comment on a dashboard, on one of its tiles, or reply to a comment.

    Rules: dashboard visible (else 404); `create:DashboardComments`; the tile
    must be a tile of the dashboard and `replyTo` a comment on it (404 naming
    it); a reply without a tile is on its parent's tile; `mentions` must be
    people of the organization (400 naming the first that is not); `textHtml`
    is kept as given; audited `dashboard_comment.created`.
    """
    dashboard, where = _dashboard(session, principal, dashboard_uuid)
    require(_allowed(principal, "create", where))
    tile_uuid = body.dashboard_tile_uuid
    if body.reply_to is not None:
        parent = repo.comment_of(session, dashboard.uuid, body.reply_to)
        if parent is None:
            raise NotFoundError("The comment to reply to was not found on this dashboard")
        tile_uuid = tile_uuid or parent.dashboard_tile_uuid
    if tile_uuid is not None and tile_uuid not in {str(t.get("uuid")) for t in dashboard.tiles}:
        raise NotFoundError("Dashboard tile not found on this dashboard")
    mentions = list(dict.fromkeys(body.mentions or []))
    members = {
        u.uuid
        for u in repo.users_by_uuid(session, mentions)
        if u.organization_uuid == principal.organization_uuid
    }
    for index, user_uuid in enumerate(mentions):
        if user_uuid not in members:
            message = f"Mention {user_uuid} is not a member of this organization"
            raise ParameterError(message, {"fields": {f"mentions.{index}": message}})
    comment = DashboardComment(
        dashboard_uuid=dashboard.uuid,
        dashboard_tile_uuid=tile_uuid,
        reply_to=body.reply_to,
        text=body.text,
        text_html=body.text_html,
        mentions=mentions,
        user_uuid=principal.user_uuid,
        resolved=False,
        created_at=utcnow(),
    )
    session.add(comment)
    session.flush()
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.DASHBOARD_COMMENT_CREATED,
        target=Target(TargetType.DASHBOARD_COMMENT, comment.uuid, dashboard.name),
        details={
            "dashboardUuid": dashboard.uuid,
            "dashboardTileUuid": tile_uuid,
            "replyTo": body.reply_to,
        },
    )
    refs = user_refs(session, [principal.user_uuid])
    return _out(comment, refs, principal, _allowed(principal, "manage", where))


def _comment(session: Session, dashboard_uuid: str, comment_uuid: str) -> DashboardComment:
    comment = repo.comment_of(session, dashboard_uuid, comment_uuid)
    if comment is None:
        raise NotFoundError("Comment not found")
    return comment


def resolve_comment(
    session: Session,
    principal: Principal,
    dashboard_uuid: str,
    comment_uuid: str,
    body: CommentUpdate,
) -> CommentOut:
    """Mark a comment resolved (or not).

    Rules: dashboard visible (else 404); `manage:DashboardComments` (as in
    Lightdash, resolving is moderation, authors included); audited
    `dashboard_comment.updated` with before/after.
    """
    dashboard, where = _dashboard(session, principal, dashboard_uuid)
    comment = _comment(session, dashboard.uuid, comment_uuid)
    require(_allowed(principal, "manage", where))
    before = comment.resolved
    comment.resolved = body.resolved
    if before != body.resolved:
        record(
            session,
            organization_uuid=principal.organization_uuid,
            actor=principal,
            action=AuditAction.DASHBOARD_COMMENT_UPDATED,
            target=Target(TargetType.DASHBOARD_COMMENT, comment.uuid, dashboard.name),
            details={
                "dashboardUuid": dashboard.uuid,
                **changes({"resolved": before}, {"resolved": body.resolved}),
            },
        )
    refs = user_refs(session, [comment.user_uuid])
    return _out(comment, refs, principal, True)


def delete_comment(
    session: Session, principal: Principal, dashboard_uuid: str, comment_uuid: str
) -> None:
    """Delete a comment and its replies.

    Rules: dashboard visible (else 404); its author may delete it while they
    may still read the comments; anyone else needs `manage:DashboardComments`;
    audited `dashboard_comment.deleted`.
    """
    dashboard, where = _dashboard(session, principal, dashboard_uuid)
    comment = _comment(session, dashboard.uuid, comment_uuid)
    own = comment.user_uuid == principal.user_uuid and _allowed(principal, "view", where)
    require(own or _allowed(principal, "manage", where))
    details = {
        "dashboardUuid": dashboard.uuid,
        "text": comment.text,
        "authorUuid": comment.user_uuid,
    }
    repo.delete_comment_thread(session, comment.uuid)
    record(
        session,
        organization_uuid=principal.organization_uuid,
        actor=principal,
        action=AuditAction.DASHBOARD_COMMENT_DELETED,
        target=Target(TargetType.DASHBOARD_COMMENT, comment_uuid, dashboard.name),
        details=details,
    )
