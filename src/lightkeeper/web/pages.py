"""The web UI's router: every page, and the static files they use (no build step, no CDN)."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import Response

from lightkeeper.kit.errors import NotFoundError
from lightkeeper.web import account, service_accounts, settings
from lightkeeper.web.core import PageRoute, static_root

router = APIRouter(route_class=PageRoute, include_in_schema=False)
router.include_router(account.router)
router.include_router(service_accounts.router)
router.include_router(settings.router)

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
