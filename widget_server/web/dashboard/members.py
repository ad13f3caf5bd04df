"""The account's members (owners only): invite, change a role, remove.

Admins and viewers do not see the page at all: who may do what in the account is the
owners' business, and the page's list of emails is personal data.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext

from ...core import clock, db, ids
from ...core.i18n import N_
from ...core.models import Membership
from ...owners import audit, invites, people, two_factor
from ...owners.people import ROLE_LABELS, PeopleError, Role
from ..request_origin import absolute_url
from . import mailer, nav
from .access import current_member, member_actor, require_role
from .blueprint import bp
from .forms import InviteForm, RoleForm, isolated
from .two_factor_forms import RequireSecondFactorForm

log = logging.getLogger(__name__)

nav.add(nav.NavItem("dashboard.members", N_("Members"), Role.OWNER))


def _page(invite_form: InviteForm | None = None, invite_link: str | None = None) -> Any:
    member = current_member()
    store = db.session()
    rows = people.members(store, member.account_id)
    role_forms = {}
    for row in rows:
        form = RoleForm(prefix=f"m{row.user_id}")
        form.role.data = row.role.value
        role_forms[row.user_id] = form
    require_form = RequireSecondFactorForm()
    require_form.required.data = two_factor.required_in(store, member.account_id)
    return render_template(
        "dashboard/members.html",
        members=rows,
        role_forms=role_forms,
        role_labels=ROLE_LABELS,
        invite_form=invite_form or InviteForm(),
        invitations=invites.open_invitations(store, member.account_id, clock.now()),
        invite_link=invite_link,
        last_owner=people.owner_count(store, member.account_id) <= 1,
        second_factor_on=two_factor.members_with_it_on(store, member.account_id),
        require_form=require_form,
    )


@bp.route("/members")
@require_role(Role.OWNER)
def members() -> Any:
    return _page()


@bp.route("/members/invite", methods=["POST"])
@require_role(Role.OWNER)
def invite_member() -> Any:
    member = current_member()
    form = InviteForm()
    if not form.validate():
        return _page(invite_form=form), 422
    store = db.session()
    seconds = current_app.config["INVITATION_SECONDS"]
    try:
        token = invites.invite(
            store,
            member.account_id,
            form.email.data or "",
            Role(form.role.data),
            member.user_id,
            clock.now(),
            timedelta(seconds=seconds),
        )
    except PeopleError as exc:
        form.email.errors = [exc.message]
        return _page(invite_form=form), 422
    audit.record(
        store,
        member_actor(),
        audit.MEMBER_INVITED,
        object_type="invitation",
        details={"email": form.email.data or "", "role": form.role.data},
    )
    store.commit()
    link = absolute_url("dashboard.accept_invitation", token=token)
    log.info("dashboard invitation account=%s by=%s", member.account_id, member.user_id)
    sent = mailer.send_invitation(form.email.data or "", member.account_name, link, seconds)
    flash(
        gettext("Invitation emailed to %(email)s.", email=isolated(form.email.data))
        if sent
        else gettext("Invitation made for %(email)s.", email=isolated(form.email.data))
    )
    # The link is shown once, on this answer only: the owner may hand it on themselves.
    return _page(invite_link=link)


def _membership_or_404(user_id: str) -> str:
    account_id = current_member().account_id
    if not ids.plausible(user_id) or db.session().get(Membership, (user_id, account_id)) is None:
        abort(404)
    return user_id


def _membership(user_id: str) -> Membership:
    found = db.session().get(Membership, (user_id, current_member().account_id))
    if found is None:
        abort(404)
    return found


@bp.route("/members/<user_id>/role", methods=["POST"])
@require_role(Role.OWNER)
def change_role(user_id: str) -> Any:
    member = current_member()
    _membership_or_404(user_id)
    form = RoleForm(prefix=f"m{user_id}")
    if not form.validate():
        flash(gettext("Choose one of the roles."))
        return redirect(url_for("dashboard.members"))
    before = _membership(user_id)
    details = {"email": before.user.email, "from": before.role, "to": form.role.data}
    try:
        people.change_role(db.session(), member.account_id, user_id, Role(form.role.data))
    except PeopleError as exc:
        db.session().rollback()
        flash(exc.message)
        return redirect(url_for("dashboard.members"))
    if details["from"] != details["to"]:
        audit.record(
            db.session(),
            member_actor(),
            audit.ROLE_CHANGED,
            object_type="user",
            object_id=user_id,
            details=details,
        )
    db.session().commit()
    flash(gettext("Role changed."))
    return redirect(url_for("dashboard.members"))


@bp.route("/members/<user_id>/remove", methods=["POST"])
@require_role(Role.OWNER)
def remove_member(user_id: str) -> Any:
    member = current_member()
    _membership_or_404(user_id)
    email = _membership(user_id).user.email
    try:
        people.remove_member(db.session(), member.account_id, user_id)
    except PeopleError as exc:
        db.session().rollback()
        flash(exc.message)
        return redirect(url_for("dashboard.members"))
    audit.record(
        db.session(),
        member_actor(),
        audit.MEMBER_REMOVED,
        object_type="user",
        object_id=user_id,
        details={"email": email},
    )
    db.session().commit()
    flash(gettext("Member removed."))
    if user_id == member.user_id:
        return redirect(url_for("dashboard.sign_in"))
    return redirect(url_for("dashboard.members"))


@bp.route("/members/second-factor", methods=["POST"])
@require_role(Role.OWNER)
def require_second_factor() -> Any:
    """Require (or stop requiring) a second factor of every member of the account."""
    member = current_member()
    form = RequireSecondFactorForm()
    if not form.validate():
        flash(gettext("Nothing was changed."))
        return redirect(url_for("dashboard.members"))
    store = db.session()
    required = bool(form.required.data)
    # The owner goes first: requiring it without one would lock them on the setup page.
    if required and member.user_id not in two_factor.members_with_it_on(store, member.account_id):
        flash(gettext("Turn on your own second factor first, on the Security page."))
        return redirect(url_for("dashboard.members"))
    two_factor.set_required(store, member.account_id, required)
    actor = member_actor()
    audit.record(store, actor, audit.SECOND_FACTOR_REQUIREMENT, details={"required": required})
    store.commit()
    log.info(
        "dashboard second factor required=%s account=%s by=%s",
        required,
        member.account_id,
        member.user_id,
    )
    flash(
        gettext("Every member now needs a second factor to use the dashboard.")
        if required
        else gettext("A second factor is now each member's own choice.")
    )
    return redirect(url_for("dashboard.members"))
