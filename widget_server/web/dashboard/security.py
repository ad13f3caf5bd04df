"""The signed-in user's own security (any role): set up, or turn off, a second factor, and
make new recovery codes.

Beginning a setup asks for the password: a browser left signed in must not be enough to
tie someone's account to a stranger's phone. The secret is shown, as a QR code drawn here
and as text, only while setup waits for its first code; recovery codes only on the answer
that made them. Turning the second factor off or making new codes asks for the password or
a current code again, for the same reason.
"""

from __future__ import annotations

import logging
from typing import Any

import segno
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext
from markupsafe import Markup

from ...core import clock, db
from ...core.i18n import N_
from ...core.models import User
from ...owners import audit, people, two_factor
from ...owners.people import Role
from . import attempts, nav
from .access import current_member, member_actor, require_role
from .blueprint import bp
from .two_factor_forms import CodeForm, IdentityForm, PasswordCheckForm

log = logging.getLogger(__name__)

nav.add(nav.NavItem("dashboard.security", N_("Security"), Role.VIEWER))

# 6 px per module: a 41-module code with its quiet zone is 294 px, read easily by a phone.
QR_SCALE = 6
QR_QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks


def qr_svg(address: str) -> Markup:
    """Draw the otpauth:// address as an inline SVG QR code, black on white in any theme."""
    code = segno.make(address, error="m")
    svg = code.svg_inline(
        scale=QR_SCALE,
        border=QR_QUIET_ZONE,
        dark="#000",
        light="#fff",
        svgclass="qr",
        lineclass=None,
        omitsize=False,
    )
    return Markup(svg)


def _user() -> User:
    user = db.session().get(User, current_member().user_id)
    if user is None:  # the session outlived its user only within this request
        raise LookupError("signed-in user")
    return user


def _page(
    code_form: CodeForm | None = None,
    identity_form: IdentityForm | None = None,
    password_form: PasswordCheckForm | None = None,
    recovery_codes: list[str] | None = None,
    status: int = 200,
) -> Any:
    member = current_member()
    store = db.session()
    user = _user()
    secret = two_factor.pending_secret(user)
    return (
        render_template(
            "dashboard/security.html",
            user=user,
            on=two_factor.is_on(user),
            secret=two_factor.grouped(secret) if secret else None,
            qr=qr_svg(two_factor.provisioning_uri(user, secret)) if secret else None,
            code_form=code_form or CodeForm(),
            identity_form=identity_form or IdentityForm(),
            password_form=password_form or PasswordCheckForm(),
            recovery_codes=recovery_codes,
            codes_left=two_factor.recovery_codes_left(store, user),
            required=two_factor.required_in(store, member.account_id),
        ),
        status,
    )


@bp.route("/security")
@require_role(Role.VIEWER)
def security() -> Any:
    return _page()


@bp.route("/security/setup", methods=["POST"])
@require_role(Role.VIEWER)
def security_setup() -> Any:
    """Begin (or begin again) a setup: a new secret, shown until a first code confirms it."""
    store = db.session()
    user = _user()
    if two_factor.is_on(user):
        return redirect(url_for("dashboard.security"))
    form = PasswordCheckForm()
    if not _proven(form, user):
        store.rollback()
        return _page(password_form=form, status=422)
    two_factor.begin_setup(user)
    db.session().commit()
    return redirect(url_for("dashboard.security") + "#setup")


@bp.route("/security/confirm", methods=["POST"])
@require_role(Role.VIEWER)
def security_confirm() -> Any:
    store = db.session()
    user = _user()
    form = CodeForm()
    if not form.validate():
        return _page(code_form=form, status=422)
    if two_factor.pending_secret(user) is None:
        return redirect(url_for("dashboard.security"))
    codes = two_factor.confirm_setup(store, user, form.code.data or "", clock.now())
    if codes is None:
        store.rollback()
        form.code.errors = [
            gettext("That code does not match. Check the time on your phone and try the newest.")
        ]
        return _page(code_form=form, status=422)
    audit.record(store, member_actor(), audit.SECOND_FACTOR_ON)
    store.commit()
    log.info("dashboard second factor turned on user=%s", user.id)
    flash(gettext("Your second factor is on. Keep your recovery codes somewhere safe."))
    return _page(recovery_codes=codes)


def _proven(form: IdentityForm, user: User) -> bool:
    """Check the password, or a current code, limited as sign-ins are; say which failed."""
    if not form.validate():
        return False
    if attempts.blocked_until(user.email) is not None:
        form.proof.errors = [gettext("Too many attempts. Try again later.")]
        return False
    proof = form.proof.data or ""
    store = db.session()
    # Only a code from the app, not a recovery code: those are kept for a lost phone.
    proven = (
        two_factor.is_code_shaped(proof)
        and two_factor.verify(store, user, proof, clock.now()) is two_factor.Accepted.CODE
    ) or people.authenticate(store, user.email, proof) is not None
    attempts.count(user.email, failed=not proven)
    if not proven:
        form.proof.errors = [gettext("That is neither your password nor a current code.")]
    return proven


def _unproven_change(user: User) -> Any | None:
    """The answer to a change of an existing second factor that may not go ahead, or None."""
    if not two_factor.is_on(user):
        return redirect(url_for("dashboard.security"))
    form = IdentityForm()
    if not _proven(form, user):
        db.session().rollback()
        return _page(identity_form=form, status=422)
    return None


@bp.route("/security/recovery-codes", methods=["POST"])
@require_role(Role.VIEWER)
def security_recovery_codes() -> Any:
    store, user = db.session(), _user()
    refused = _unproven_change(user)
    if refused is not None:
        return refused
    codes = two_factor.new_recovery_codes(store, user, clock.now())
    audit.record(store, member_actor(), audit.RECOVERY_CODES_RENEWED)
    store.commit()
    log.info("dashboard recovery codes replaced user=%s", user.id)
    flash(gettext("New recovery codes made: the old ones no longer work."))
    return _page(recovery_codes=codes)


@bp.route("/security/turn-off", methods=["POST"])
@require_role(Role.VIEWER)
def security_turn_off() -> Any:
    store, user = db.session(), _user()
    refused = _unproven_change(user)
    if refused is not None:
        return refused
    two_factor.turn_off(store, user)
    audit.record(store, member_actor(), audit.SECOND_FACTOR_OFF)
    store.commit()
    log.info("dashboard second factor turned off user=%s", user.id)
    flash(gettext("Your second factor is off: your password alone signs you in."))
    return redirect(url_for("dashboard.security"))
