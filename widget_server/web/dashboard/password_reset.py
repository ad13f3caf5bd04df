"""Forgotten passwords: ask for an emailed link, then choose a new password with it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext

from ...core import clock, db
from ...owners import people, resets
from ...owners.people import PeopleError
from ..request_origin import absolute_url
from . import attempts, mailer
from .blueprint import bp
from .forms import ForgotForm, NewPasswordForm, isolated

log = logging.getLogger(__name__)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Any:
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("dashboard/forgot.html", form=form), status
    email = form.email.data or ""
    # Requests count as failed sign-ins of the email: a stranger cannot fill its inbox.
    if attempts.blocked_until(email) is not None:
        form.email.errors = [gettext("Too many requests for this email. Try again later.")]
        return render_template("dashboard/forgot.html", form=form), 429
    attempts.count(email, failed=True)
    store = db.session()
    user = people.find_user(store, email)
    if user is not None and user.memberships:
        seconds = current_app.config["PASSWORD_RESET_SECONDS"]
        token = resets.request_reset(store, user, clock.now(), timedelta(seconds=seconds))
        store.commit()
        link = absolute_url("dashboard.reset_password", token=token)
        mailer.send_password_reset(user.email, link, seconds)
        log.info("dashboard password reset requested user=%s", user.id)
    # The same answer whether or not the email is a user's.
    flash(
        gettext(
            "If %(email)s belongs to a dashboard user, a link to reset its password is on "
            "its way. Check your inbox.",
            email=isolated(email),
        )
    )
    return redirect(url_for("dashboard.sign_in"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    store = db.session()
    reset = resets.pending(store, token, clock.now())
    if reset is None:
        return render_template("dashboard/link_spent.html"), 404
    form = NewPasswordForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("dashboard/reset.html", form=form, token=token), status
    try:
        user = resets.complete(store, reset, form.password.data or "", clock.now())
    except PeopleError as exc:
        store.rollback()
        if exc.field != "password":
            return render_template("dashboard/link_spent.html"), 404
        form.password.errors = [exc.message]
        return render_template("dashboard/reset.html", form=form, token=token), 422
    store.commit()
    log.info("dashboard password reset user=%s", user.id)
    flash(gettext("Your password is changed, and every session ended. Sign in again."))
    return redirect(url_for("dashboard.sign_in"))
