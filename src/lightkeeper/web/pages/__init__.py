"""The web UI's router: every page (one module each), and the static files they use.

No build step, no CDN. Each page module holds its own router; `ROUTERS` lists them
all (app.py's ROUTERS ends with them), and `router` below, with the static files
and the catch-all 404 of /generalSettings, comes last so it never hides a page.
"""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import Response

from lightkeeper.kit.errors import NotFoundError
from lightkeeper.web.core import PageRoute, static_root
from lightkeeper.web.pages import (
    audit_log,
    custom_roles,
    home,
    invite,
    login,
    password,
    personal_tokens,
    projects,
    register,
    service_accounts,
    users,
)

PAGES = (
    home,
    register,
    invite,
    login,
    password,
    service_accounts,
    personal_tokens,
    users,
    projects,
    custom_roles,
    audit_log,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@router.get("/static/web/{name}")
def static_file(name: str) -> Response:
    """One file of `web/static` (flat directory; no path can leave it)."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise NotFoundError("No such file")
    resource = static_root() / name
    if not resource.is_file():
        raise NotFoundError("No such file")
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    media_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        resource.read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/generalSettings/{rest:path}")
def unknown_settings_page(rest: str) -> Response:
    """Anything else under /generalSettings is a readable 404 page, not the API's JSON."""
    raise NotFoundError("There is no settings page at this address.")


ROUTERS = (*(page.router for page in PAGES), router)
