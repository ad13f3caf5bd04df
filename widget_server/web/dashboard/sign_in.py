"""Sign in, sign out, and sign out everywhere."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext

from ...core import clock, db
from ...owners import audit, people, sessions, two_factor
from ...owners.people import Role
from ..actors import client_address
from . import attempts, half_signed_in
from .access import (
    COOKIE,
    clear_session_cookie,
    current_member,
    require_role,
    safe_next,
    set_session_cookie,
    signed_in,
)
from .blueprint import bp
from .forms import SignInForm

log = logging.getLogger(__name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    form = SignInForm()
    if request.method == "GET":
        if signed_in() is not None:
            return redirect(safe_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
        return render_template("dashboard/sign_in.html", form=form)
    if not form.validate():
        return render_template("dashboard/sign_in.html", form=form), 422
    email = form.email.data or ""
    until = attempts.blocked_until(email)
    if until is not None:
        message, headers = attempts.refusal(until, clock.now())
        form.form_errors.append(message)
        log.info("dashboard sign-in refused reason=rate_limited")
        return render_template("dashboard/sign_in.html", form=form), 429, headers
    store = db.session()
    user = people.authenticate(store, email, form.password.data or "")
    membership = people.first_membership(store, user) if user else None
    attempts.count(email, failed=membership is None)
    if user is None or membership is None:
        store.rollback()
        audit.sign_in_failed(store, email, client_address())
        log.info("dashboard sign-in refused reason=bad_credentials")
        form.form_errors.append(gettext("That email and password do not match."))
        return render_template("dashboard/sign_in.html", form=form), 401
    if two_factor.is_on(user):
        # Not signed in yet: a signed, short-lived cookie leads to the code step.
        store.commit()  # a password hash renewed by authenticate() is kept
        log.info("dashboard sign-in password accepted user=%s, code next", user.id)
        response = redirect(url_for("dashboard.sign_in_code"))
        half_signed_in.remember(response, user.id, membership.account_id, form.next.data or "")
        return response
    return open_session(user.id, membership.account_id, form.next.data)


def open_session(user_id: str, account_id: str, next_path: str | None) -> Any:
    """Sign the user in to the account: a new session, then on to `next_path`."""
    store = db.session()
    # A new session id at every sign-in: an id planted before it is worth nothing after.
    old = request.cookies.get(COOKIE)
    if old:
        sessions.end(store, old)
    config = current_app.config
    sessions.purge_stale(
        store,
        clock.now(),
        idle=timedelta(seconds=config["DASHBOARD_SESSION_IDLE_SECONDS"]),
        lifetime=timedelta(seconds=config["DASHBOARD_SESSION_MAX_SECONDS"]),
    )
    session_id = sessions.start(store, user_id, account_id, clock.now())
    audit.signed_in(store, user_id, account_id, client_address())
    store.commit()
    session.clear()  # the CSRF token of the signed-out page goes too
    log.info("dashboard sign-in user=%s account=%s", user_id, account_id)
    response = redirect(safe_next(next_path))
    set_session_cookie(response, session_id)
    half_signed_in.forget(response)
    return response


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        sessions.end(db.session(), session_id)
        db.session().commit()
    session.clear()
    flash(gettext("You are signed out."))
    response = redirect(url_for("dashboard.sign_in"))
    clear_session_cookie(response)
    return response


@bp.route("/sign-out-everywhere", methods=["POST"])
@require_role(Role.VIEWER)
def sign_out_everywhere() -> Any:
    member = current_member()
    ended = sessions.end_sessions(db.session(), member.user_id)
    db.session().commit()
    session.clear()
    log.info("dashboard signed out everywhere user=%s sessions=%s", member.user_id, ended)
    flash(gettext("You are signed out on every device."))
    response = redirect(url_for("dashboard.sign_in"))
    clear_session_cookie(response)
    return response


@bp.route("/switch-account", methods=["POST"])
@require_role(Role.VIEWER)
def switch_account() -> Any:
    """Act in another account of the signed-in user: a new session, the old one ended."""
    member = current_member()
    account_id = request.form.get("account_id", "")
    store = db.session()
    if account_id not in {a for a, _name in people.accounts_of(store, member.user_id)}:
        abort(404)
    old = request.cookies.get(COOKIE)
    if old:
        sessions.end(store, old)
    session_id = sessions.start(store, member.user_id, account_id, clock.now())
    store.commit()
    response = redirect(url_for("dashboard.overview"))
    set_session_cookie(response, session_id)
    return response
