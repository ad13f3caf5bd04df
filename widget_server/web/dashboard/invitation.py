"""Accepting an invitation: the invitee sets a password (or proves theirs) and joins."""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext

from ...core import clock, db
from ...owners import invites, people
from ...owners.people import ROLE_LABELS, PeopleError, Role
from .blueprint import bp
from .forms import NewPasswordForm

log = logging.getLogger(__name__)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Any:
    store = db.session()
    invitation = invites.pending(store, token, clock.now())
    if invitation is None:
        return render_template("dashboard/link_spent.html"), 404
    existing = people.find_user(store, invitation.email) is not None
    form = NewPasswordForm()
    if existing:
        # A known user proves their password once; there is nothing to repeat.
        form.confirm.validators = []
        form.confirm.flags.required = False
    context = {
        "form": form,
        "token": token,
        "existing": existing,
        "email": invitation.email,
        "account": people.account_name(store, invitation.account_id),
        "role": ROLE_LABELS[Role(invitation.role)],
    }
    if existing and form.is_submitted():
        form.confirm.data = form.password.data
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("dashboard/accept.html", **context), status
    try:
        user = invites.accept(store, invitation, form.password.data or "", clock.now())
    except PeopleError as exc:
        store.rollback()
        if exc.field == "token":
            return render_template("dashboard/link_spent.html"), 404
        form.password.errors = [exc.message]
        return render_template("dashboard/accept.html", **context), 422
    store.commit()
    log.info("dashboard invitation accepted user=%s account=%s", user.id, invitation.account_id)
    flash(gettext("Welcome! Sign in to open the dashboard."))
    return redirect(url_for("dashboard.sign_in"))
