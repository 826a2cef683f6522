"""The audit vocabulary: every action and target type an audit event may carry.

One enumeration for the code that records events (`audit.service.record`
accepts nothing else) and for the audit-log page's filter choices, so the two
cannot drift apart. An action is `<family>.<verb>`; the API and the page also
accept `<family>.*` to match a whole family.
"""

from __future__ import annotations

from enum import StrEnum

# ruff S105 reads "password"/"token" in these names as secrets; they are event names.


class AuditAction(StrEnum):
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    USER_CREATED = "user.created"
    USER_LOGGED_IN = "user.logged_in"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_CUSTOM_ROLE_CHANGED = "member.custom_role_changed"
    MEMBER_REMOVED = "member.removed"
    INVITE_LINK_CREATED = "invite_link.created"
    INVITE_LINK_DELETED = "invite_link.deleted"
    PERSONAL_ACCESS_TOKEN_CREATED = "personal_access_token.created"  # noqa: S105
    PERSONAL_ACCESS_TOKEN_ROTATED = "personal_access_token.rotated"  # noqa: S105
    PERSONAL_ACCESS_TOKEN_DELETED = "personal_access_token.deleted"  # noqa: S105
    SERVICE_ACCOUNT_CREATED = "service_account.created"
    SERVICE_ACCOUNT_UPDATED = "service_account.updated"
    SERVICE_ACCOUNT_ROTATED = "service_account.rotated"
    SERVICE_ACCOUNT_DELETED = "service_account.deleted"
    SERVICE_ACCOUNT_AUTHENTICATION_FAILED = "service_account.authentication_failed"
    SERVICE_ACCOUNT_TOKEN_EXCHANGED = "service_account.token_exchanged"  # noqa: S105
    SERVICE_ACCOUNT_NETWORK_DENIED = "service_account.network_denied"
    TRUST_POLICY_CREATED = "trust_policy.created"
    TRUST_POLICY_UPDATED = "trust_policy.updated"
    TRUST_POLICY_DELETED = "trust_policy.deleted"
    TOKEN_LEAK_REPORTED = "token.leak_reported"  # noqa: S105
    ROLE_CREATED = "role.created"
    ROLE_UPDATED = "role.updated"
    ROLE_DELETED = "role.deleted"
    PROJECT_CREATED = "project.created"
    PROJECT_UPDATED = "project.updated"
    PROJECT_DELETED = "project.deleted"
    PROJECT_MEMBER_ROLE_CHANGED = "project.member_role_changed"
    PROJECT_MEMBER_REMOVED = "project.member_removed"
    PROJECT_EXPLORES_DEPLOYED = "project.explores_deployed"
    PROJECT_GROUP_ACCESS_CHANGED = "project.group_access_changed"
    PROJECT_GROUP_ACCESS_REMOVED = "project.group_access_removed"
    PROJECT_TAGS_REPLACED = "project.tags_replaced"
    PROJECT_PARAMETERS_REPLACED = "project.parameters_replaced"
    SPACE_CREATED = "space.created"
    SPACE_UPDATED = "space.updated"
    SPACE_DELETED = "space.deleted"
    SPACE_SHARED = "space.shared"
    SPACE_UNSHARED = "space.unshared"
    SPACE_GROUP_SHARED = "space.group_shared"
    SPACE_GROUP_UNSHARED = "space.group_unshared"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    SAVED_CHART_CREATED = "saved_chart.created"
    SAVED_CHART_UPDATED = "saved_chart.updated"
    SAVED_CHART_DELETED = "saved_chart.deleted"
    DASHBOARD_CREATED = "dashboard.created"
    DASHBOARD_UPDATED = "dashboard.updated"
    DASHBOARD_DELETED = "dashboard.deleted"
    DASHBOARD_COMMENT_CREATED = "dashboard_comment.created"
    DASHBOARD_COMMENT_UPDATED = "dashboard_comment.updated"
    DASHBOARD_COMMENT_DELETED = "dashboard_comment.deleted"
    CONTENT_AS_CODE_UPLOADED = "content_as_code.uploaded"
    QUERY_EXECUTED = "query.executed"

    @property
    def family(self) -> str:
        return self.value.partition(".")[0]


class TargetType(StrEnum):
    ORGANIZATION = "organization"
    USER = "user"
    INVITE_LINK = "invite_link"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"  # noqa: S105
    SERVICE_ACCOUNT = "service_account"
    TRUST_POLICY = "trust_policy"
    ROLE = "role"
    GROUP = "group"
    PROJECT = "project"
    SPACE = "space"
    SAVED_CHART = "saved_chart"
    DASHBOARD = "dashboard"
    DASHBOARD_COMMENT = "dashboard_comment"
    QUERY = "query"


def action_families() -> list[str]:
    """The `<family>.*` filters, in the enumeration's order."""
    return list(dict.fromkeys(f"{action.family}.*" for action in AuditAction))
