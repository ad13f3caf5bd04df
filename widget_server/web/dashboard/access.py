"""Who is signed in to the dashboard, and what their role lets them open.

The browser's cookie holds only a random session id; the session row (owners/sessions.py)
says which user acts in which account. Every view reads the member through
`current_member()`, and looks objects up scoped by its `account_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext

from ...core import clock, db
from ...core.errors import Forbidden
from ...core.settings import NON_PRODUCTION
from ...owners import audit, sessions
from ...owners.people import Role, account_name
from ..actors import client_address

COOKIE = "dashboard_session"

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    account_id: str
    account_name: str
    role: Role


class NotSignedIn(RuntimeError):
    """current_member() was asked outside a signed-in request."""


def load_member() -> None:
    """Find the member this request's session cookie names (before each dashboard view)."""
    g.dashboard_member = None
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return
    config = current_app.config
    found = sessions.find(
        db.session(),
        session_id,
        clock.now(),
        idle=timedelta(seconds=config["DASHBOARD_SESSION_IDLE_SECONDS"]),
        lifetime=timedelta(seconds=config["DASHBOARD_SESSION_MAX_SECONDS"]),
    )
    if found is None:
        return
    row, membership = found
    g.dashboard_member = Member(
        user_id=row.user_id,
        email=membership.user.email,
        account_id=row.account_id,
        account_name=account_name(db.session(), row.account_id),
        role=Role(membership.role),
    )


def signed_in() -> Member | None:
    return g.get("dashboard_member")


def current_member() -> Member:
    """Return the signed-in member of this request (only inside a `require_role` view)."""
    member = signed_in()
    if member is None:
        raise NotSignedIn("current_member() outside a signed-in dashboard request")
    return member


def member_actor() -> audit.Actor:
    """Return the signed-in member as the audit log names them, acting from this address."""
    member = current_member()
    return audit.member_actor(member.account_id, member.user_id, member.email, client_address())


def require_role(minimum: Role) -> Callable[[View], View]:
    """Let a view run only for a signed-in member with at least `minimum`'s role.

    Signed out: a redirect to the sign-in page, coming back here after. Role too low: 403
    (POSTs too, so a hand-made form cannot do what the page does not offer).
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            member = signed_in()
            if member is None:
                return redirect(url_for("dashboard.sign_in", next=_here()))
            if not member.role.at_least(minimum):
                raise Forbidden(
                    gettext("Your role in this account does not allow this page."),
                    reason="dashboard_role",
                )
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def _here() -> str:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return url_for("dashboard.overview")


def safe_next(target: str | None) -> str:
    """Return `target` if it is a dashboard path on this server, else the overview."""
    if target and target.startswith("/dashboard") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("dashboard.overview")


def set_session_cookie(response: Any, session_id: str) -> None:
    config = current_app.config
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=config["DASHBOARD_SESSION_MAX_SECONDS"],
        path="/dashboard",
        secure=cookie_secure(),
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(response: Any) -> None:
    response.delete_cookie(
        COOKIE, path="/dashboard", secure=cookie_secure(), httponly=True, samesite="Lax"
    )


def cookie_secure() -> bool:
    """Secure cookies except in development and tests (served over plain http locally)."""
    config = current_app.config
    if config["DASHBOARD_COOKIE_SECURE"] is not None:
        return bool(config["DASHBOARD_COOKIE_SECURE"])
    return config["ENV"] not in NON_PRODUCTION and not config.get("TESTING")
