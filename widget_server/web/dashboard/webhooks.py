"""A widget's webhook page: the URL, the write-only secret, the delivery log, a test send."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, URLField
from wtforms.validators import InputRequired, Length, Optional

from ...core import db
from ...core.models import Widget
from ...notify import webhooks as delivery
from ...owners import audit, webhooks
from ...owners.people import Role
from ...owners.widgets import WidgetInvalid
from .access import current_member, member_actor, require_role
from .blueprint import bp
from .install import member_widget
from .reasons import translate_reason


class WebhookForm(FlaskForm):
    url = URLField(
        _l("Webhook URL"),
        validators=[InputRequired(_l("Enter the https URL to send events to.")), Length(max=2000)],
    )
    # Write-only: never filled in from the stored value; left empty, the stored one stays.
    secret = PasswordField(
        _l("Signing secret"),
        validators=[
            Optional(),
            Length(min=16, max=256, message=_l("Use %(min)d to %(max)d characters.")),
        ],
    )


class ActionForm(FlaskForm):
    """Only the CSRF token: clear and send test need nothing else."""


def _before() -> int | None:
    raw = request.args.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


def _page(
    widget: Widget, form: WebhookForm | None = None, status: int = 200
) -> ResponseReturnValue:
    if form is None:
        form = WebhookForm(formdata=None, data={"url": widget.webhook_url or ""})
    page = webhooks.log_page(db.session(), widget, _before())
    return (
        render_template(
            "dashboard/webhooks.html",
            widget=widget,
            form=form,
            action_form=ActionForm(formdata=None),
            can_change=current_member().role.at_least(Role.ADMIN),
            secret_set=bool(widget.webhook_secret),
            page=page,
            first_page=_before() is None,
        ),
        status,
    )


@bp.get("/widgets/<widget_id>/webhooks")
@require_role(Role.VIEWER)
def widget_webhooks(widget_id: str) -> ResponseReturnValue:
    return _page(member_widget(widget_id))


@bp.post("/widgets/<widget_id>/webhooks")
@require_role(Role.ADMIN)
def save_webhook(widget_id: str) -> ResponseReturnValue:
    widget = member_widget(widget_id)
    form = WebhookForm()
    if not form.validate():
        return _page(widget, form, 400)
    try:
        webhooks.save(db.session(), widget, form.url.data, form.secret.data or None, member_actor())
    except WidgetInvalid as exc:
        db.session().rollback()
        if "webhook_url" in exc.fields:
            why = translate_reason(exc.fields["webhook_url"])
            form.url.errors = [gettext("Not saved: %(reason)s.", reason=why)]
        if "webhook_secret" in exc.fields:
            why = translate_reason(exc.fields["webhook_secret"])
            form.secret.errors = [gettext("Not saved: %(reason)s.", reason=why)]
        others = {k: v for k, v in exc.fields.items() if k not in ("webhook_url", "webhook_secret")}
        for name, reason in others.items():
            form.url.errors = [*form.url.errors, f"{name}: {translate_reason(reason)}"]
        return _page(widget, form, 400)
    flash(gettext("The webhook is saved."))
    return redirect(url_for("dashboard.widget_webhooks", widget_id=widget.id))


@bp.post("/widgets/<widget_id>/webhooks/clear")
@require_role(Role.ADMIN)
def clear_webhook(widget_id: str) -> ResponseReturnValue:
    widget = member_widget(widget_id)
    webhooks.clear(db.session(), widget, member_actor())
    flash(gettext("The webhook is off: no more events are sent."))
    return redirect(url_for("dashboard.widget_webhooks", widget_id=widget.id))


@bp.post("/widgets/<widget_id>/webhooks/test")
@require_role(Role.ADMIN)
def test_webhook(widget_id: str) -> ResponseReturnValue:
    widget = member_widget(widget_id)
    if not widget.webhook_url or not widget.webhook_secret:
        flash(gettext("Save a webhook URL and secret first."), "error")
        return redirect(url_for("dashboard.widget_webhooks", widget_id=widget.id))
    # Written by the commit that logs the test delivery, before the event is sent.
    audit.record(
        db.session(),
        member_actor(),
        audit.WEBHOOK_TEST_SENT,
        object_type="widget",
        object_id=widget.id,
    )
    sent = delivery.send_test(db.session(), widget, current_app.config)
    if sent.status == delivery.DELIVERED:
        flash(
            gettext(
                "Test event delivered: the receiver answered HTTP %(code)s.",
                code=sent.last_status_code,
            )
        )
    else:
        flash(
            gettext("Test event not delivered: %(error)s.", error=sent.last_error or "?"),
            "error",
        )
    return redirect(url_for("dashboard.widget_webhooks", widget_id=widget.id))
