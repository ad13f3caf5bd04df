"""The second step of signing in, and the gate that holds a member whose account requires a
second factor on the Security page until they have one.

After a right password, a user whose second factor is on holds only a half sign-in
(half_signed_in.py). A code from their app, or an unused recovery code, completes it with
a new session, as the password does for everyone else. Wrong codes count as failed
sign-ins of the user's email (attempts.py), so guessing codes is limited like guessing
passwords.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from ...core import clock, db
from ...core.models import Membership, User
from ...owners import audit, two_factor
from ..actors import client_address
from . import attempts, half_signed_in
from .access import signed_in
from .blueprint import bp
from .sign_in import open_session
from .two_factor_forms import CodeForm

log = logging.getLogger(__name__)

# What a member who must set up a second factor may still open.
OPEN_BEFORE_SETUP = {
    "dashboard.security",
    "dashboard.security_setup",
    "dashboard.security_confirm",
    "dashboard.sign_out",
    "dashboard.switch_account",
}


_HELD = "dashboard_held_for_second_factor"  # g: this request's member must set one up


@bp.before_request
def second_factor_first() -> Any:
    """Send a member of an account that requires a second factor, without one, to set it up."""
    member = signed_in()
    if member is None:
        return None
    store = db.session()
    if not two_factor.required_in(store, member.account_id):
        return None
    user = store.get(User, member.user_id)
    if user is not None and two_factor.is_on(user):
        return None
    g.setdefault(_HELD, True)
    if request.endpoint in OPEN_BEFORE_SETUP:
        return None
    return redirect(url_for("dashboard.security"))


def held() -> bool:
    """Whether this request's member may open only what OPEN_BEFORE_SETUP lists."""
    return bool(g.get(_HELD))


def _start_again() -> Any:
    flash(gettext("Your sign-in took too long or was not found. Sign in again."))
    response = redirect(url_for("dashboard.sign_in"))
    half_signed_in.forget(response)
    return response


def _page(form: CodeForm, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    return render_template("dashboard/sign_in_code.html", form=form), status, headers or {}


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code() -> Any:
    half = half_signed_in.current()
    store = db.session()
    user = store.get(User, half.user_id) if half else None
    if (
        half is None
        or user is None
        or not two_factor.is_on(user)
        or store.get(Membership, (half.user_id, half.account_id)) is None
    ):
        return _start_again()
    form = CodeForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate():
        return _page(form, 422)
    until = attempts.blocked_until(user.email)
    if until is not None:
        message, headers = attempts.refusal(until, clock.now())
        form.form_errors.append(message)
        log.info("dashboard sign-in code refused reason=rate_limited user=%s", user.id)
        return _page(form, 429, headers)
    accepted = two_factor.verify(store, user, form.code.data or "", clock.now())
    attempts.count(user.email, failed=accepted is None)
    if accepted is None:
        store.rollback()
        audit.sign_in_failed(store, user.email, client_address(), step="second_factor")
        log.info("dashboard sign-in code refused reason=bad_code user=%s", user.id)
        form.code.errors = [
            gettext("That code is not right, or was used already. Enter the newest one.")
        ]
        return _page(form, 401)
    left = two_factor.recovery_codes_left(store, user)
    response = open_session(user.id, half.account_id, half.next)
    if accepted is two_factor.Accepted.RECOVERY_CODE:
        log.info("dashboard sign-in with a recovery code user=%s left=%s", user.id, left)
        # After open_session(), which empties the browser's session (and its messages).
        flash(
            gettext(
                "You signed in with a recovery code. Recovery codes left: %(count)s. "
                "Make new ones on the Security page.",
                count=left,
            )
        )
    return response
