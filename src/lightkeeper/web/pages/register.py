"""`/register`: the first admin and the organization, only while no organization exists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lightkeeper.deps import RuntimeDep, SessionDep, SettingsDep
from lightkeeper.identity.endpoints import set_session_cookie
from lightkeeper.kit.errors import LightkeeperError
from lightkeeper.registration import service as registration
from lightkeeper.web.core import (
    PAGE_DEPENDENCIES,
    AnonymousCsrf,
    Failure,
    PageRoute,
    redirect,
    render,
    render_failure,
)
from lightkeeper.web.forms import FormText

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


def _register_page(
    request: Request,
    demo_checked: bool,
    form: dict[str, str] | None = None,
    failure: Failure | None = None,
) -> Response:
    return render(
        request,
        "register.html",
        {
            "form": form or {},
            "demo_checked": demo_checked,
            "error": failure.message if failure else None,
            "error_fields": failure.fields if failure else (),
        },
        status=failure.status if failure else 200,
        anonymous=True,
    )


@router.get("/register")
def register_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    if registration.organization_exists(session):
        return redirect("/login", status=302)
    return _register_page(request, demo_checked=settings.demo)


@router.post("/register")
def register(
    request: Request,
    _csrf: AnonymousCsrf,
    runtime: RuntimeDep,
    session: SessionDep,
    first_name: Annotated[str, Form(alias="firstName")] = "",
    last_name: Annotated[str, Form(alias="lastName")] = "",
    email: FormText = "",
    organization_name: Annotated[str, Form(alias="organizationName")] = "",
    password: FormText = "",
    demo_offered: Annotated[str, Form(alias="demoOffered")] = "",
    demo_project: Annotated[str, Form(alias="demoProject")] = "",
) -> Response:
    if registration.organization_exists(session):
        return redirect("/login")
    # The box is on the page: its state is the person's choice (unticked sends nothing).
    demo = demo_project == "on" if demo_offered else None
    form = registration.Registration(
        first_name=first_name,
        last_name=last_name,
        email=email,
        password=password,
        organization_name=organization_name,
        invite_code=None,
        demo_project=demo,
    )
    try:
        _user, new = registration.register(runtime, session, form)
    except LightkeeperError as error:
        values = {
            "firstName": first_name,
            "lastName": last_name,
            "email": email,
            "organizationName": organization_name,
        }
        checked = runtime.settings.demo if demo is None else demo
        return render_failure(
            request,
            session,
            lambda failure: _register_page(request, checked, values, failure),
            error,
        )
    response = redirect("/generalSettings")
    set_session_cookie(request, response, runtime, new)
    return response
