"""The API keys page: list, create (the key shown once, in that answer only), revoke."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ...core import db, ids
from ...core.errors import NotFound
from ...core.i18n import N_
from ...core.models import ApiKey
from ...owners import admin, audit, keys
from ...owners.people import Role
from . import nav
from .access import current_member, member_actor, require_role
from .blueprint import bp

nav.add(nav.NavItem("dashboard.keys", N_("API keys"), Role.ADMIN))


def printable(form: FlaskForm, field: StringField) -> None:
    if field.data and keys.name_problem(field.data) == keys.NAME_UNPRINTABLE:
        raise ValidationError(_l("Use letters, digits and punctuation only."))


class CreateKeyForm(FlaskForm):
    name = StringField(
        _l("What is this key for?"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(_l("Give the key a name.")),
            Length(max=keys.MAX_NAME, message=_l("Use at most %(max)d characters.")),
            printable,
        ],
    )


class RevokeKeyForm(FlaskForm):
    """Only the CSRF token: the key is named by the URL."""


def _page(
    form: CreateKeyForm, status: int = 200, new_key: str | None = None
) -> ResponseReturnValue:
    member = current_member()
    html = render_template(
        "dashboard/keys.html",
        keys=keys.account_keys(db.session(), member.account_id),
        visible_part=keys.visible_part,
        form=form,
        new_key=new_key,
    )
    response = make_response(html, status)
    # The one answer that holds a new key must not be kept by any cache or history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/keys", endpoint="keys")
@require_role(Role.ADMIN)
def keys_page() -> ResponseReturnValue:
    return _page(CreateKeyForm(formdata=None))


@bp.post("/keys")
@require_role(Role.ADMIN)
def create_key() -> ResponseReturnValue:
    form = CreateKeyForm()
    if not form.validate():
        return _page(form, 400)
    session = db.session()
    record, key = admin.create_key(session, current_member().account_id, form.name.data.strip())
    audit.record(
        session,
        member_actor(),
        audit.KEY_CREATED,
        object_type="api_key",
        object_id=record.id,
        details=_described(record),
    )
    session.commit()
    # Shown in this answer and nowhere else: not flashed (the session cookie), not logged.
    return _page(CreateKeyForm(formdata=None), 201, new_key=key)


def _described(key: ApiKey) -> dict[str, str]:
    """Name a key in the audit log by its name and public part, never its secret."""
    return {"name": key.name, "key": keys.visible_part(key)}


def _member_key(key_id: str) -> ApiKey:
    key = db.session().get(ApiKey, key_id) if ids.plausible(key_id) else None
    if key is None or key.account_id != current_member().account_id:
        raise NotFound(gettext("No such key."))
    return key


@bp.get("/keys/<key_id>/revoke")
@require_role(Role.ADMIN)
def confirm_revoke(key_id: str) -> ResponseReturnValue:
    key = _member_key(key_id)
    return render_template(
        "dashboard/keys_revoke.html", key=key, visible=keys.visible_part(key), form=RevokeKeyForm()
    )


@bp.post("/keys/<key_id>/revoke")
@require_role(Role.ADMIN)
def revoke_key(key_id: str) -> ResponseReturnValue:
    key = _member_key(key_id)
    if not RevokeKeyForm().validate():
        return confirm_revoke(key_id)
    session = db.session()
    admin.revoke_key(session, key.id, current_member().account_id)
    audit.record(
        session,
        member_actor(),
        audit.KEY_REVOKED,
        object_type="api_key",
        object_id=key.id,
        details=_described(key),
    )
    session.commit()
    flash(gettext("The key “%(name)s” is revoked: it no longer works.", name=key.name))
    return redirect(url_for("dashboard.keys"))
