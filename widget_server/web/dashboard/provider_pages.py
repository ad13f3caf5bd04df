"""The widget's provider page: the provider and its declared settings, the secondary
(failover) provider and its settings, and a test call."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from ... import providers
from ...core import db
from ...core.egress import provider_policy
from ...core.models import Widget
from ...intake.guard import STORAGE
from ...owners import admin, trial_calls, widgets
from ...owners.people import Role
from . import provider_forms
from .access import member_actor, require_role
from .blueprint import bp
from .provider_forms import SECONDARY, ProviderRole
from .reasons import translate_reason
from .widget_editors import FieldProblem
from .widget_lookup import account_widget, can_edit


def _shown_provider(widget: Widget) -> str:
    """The provider whose form to show: the one asked for (to switch), else the widget's."""
    asked = request.values.get("provider")
    return asked if asked in providers.REGISTRY else widget.provider


def _shown_secondary(widget: Widget) -> str:
    """The secondary provider whose form to show ("" for none)."""
    if "secondary-provider" not in request.form:
        return widget.secondary_provider or ""
    asked = request.form["secondary-provider"]
    return asked if asked in providers.REGISTRY else ""


def _secondary_form(widget: Widget, provider: str, formdata: Any = None) -> Any:
    return provider_forms.provider_form(
        provider,
        widget.secondary_provider or "",
        widget.secondary_provider_settings or {},
        formdata,
        role=SECONDARY,
    )


def _settings_part(widget: Widget, form: Any, provider: str, role: ProviderRole) -> dict[str, Any]:
    """What the template shows of one provider form: its settings and which secrets are kept."""
    fields = provider_forms.fields_of(provider)
    same = provider == (getattr(widget, role.provider) or "")
    stored = (getattr(widget, role.settings) or {}) if same else {}
    return {
        "form": form,
        "provider": provider,
        "settings": [(f, form[provider_forms.PREFIX + f.name]) for f in fields],
        "raw_field": form[provider_forms.RAW] if provider_forms.RAW in form else None,
        "stored_secrets": {f.name for f in fields if f.secret and f.name in stored},
    }


def _page(
    widget: Widget,
    form: Any,
    provider: str,
    status: int = 200,
    general: list[str] | None = None,
    result: trial_calls.TrialCallResult | None = None,
    refusal: str | None = None,
    secondary: tuple[Any, str] | None = None,
    secondary_general: list[str] | None = None,
) -> Any:
    primary = _settings_part(widget, form, provider, provider_forms.PRIMARY)
    if secondary is None:
        shown = widget.secondary_provider or ""
        secondary = (_secondary_form(widget, shown), shown)
    return (
        render_template(
            "dashboard/widget_provider.html",
            widget=widget,
            **primary,
            secondary=_settings_part(widget, *secondary, SECONDARY),
            secondary_general=secondary_general or [],
            capabilities=provider_forms.capabilities(provider),
            note=provider_forms.NOTES.get(provider),
            can_edit=can_edit(),
            general=general or [],
            result=result,
            refusal=refusal,
            entered_number=request.form.get("number", "") if refusal else "",
            test_call_limit=current_app.config["TEST_CALL_LIMIT_PER_ACCOUNT"],
        ),
        status,
    )


@bp.get("/widgets/<widget_id>/provider")
@require_role(Role.VIEWER)
def widget_provider(widget_id: str) -> Any:
    widget = account_widget(widget_id)
    provider = _shown_provider(widget)
    form = provider_forms.provider_form(provider, widget.provider, widget.provider_settings)
    return _page(widget, form, provider)


@bp.post("/widgets/<widget_id>/provider")
@require_role(Role.ADMIN)
def save_provider(widget_id: str) -> Any:
    widget = account_widget(widget_id)
    provider = _shown_provider(widget)
    stored = widget.provider_settings
    form = provider_forms.provider_form(provider, widget.provider, stored, request.form)
    if request.form.get("action") == "switch":  # show the chosen provider's form, save nothing
        form = provider_forms.provider_form(provider, widget.provider, stored)
        return _page(widget, form, provider)
    try:
        settings = provider_forms.submitted_settings(form, provider, widget.provider, stored)
    except FieldProblem as problem:
        form[problem.field].errors = [problem.message]
        return _page(widget, form, provider, 400)
    values = {"provider": provider, "provider_settings": settings}
    try:
        admin.update_widget(db.session(), widget, values, replace=False, actor=member_actor())
    except widgets.WidgetInvalid as exc:
        db.session().rollback()
        general = _place(form, exc.fields, provider_forms.PRIMARY)
        return _page(account_widget(widget_id), form, provider, 400, general)
    flash(gettext("Provider settings saved."))
    return redirect(url_for("dashboard.widget_provider", widget_id=widget.id), 303)


def _place(form: Any, reasons: dict[str, str], role: ProviderRole) -> list[str]:
    """Put each domain reason on its field of `form`; return those no field holds."""
    general = []
    for key, reason in reasons.items():
        name = provider_forms.error_field(key, role)
        if name is not None and name in form:
            form[name].errors = [translate_reason(reason)]
        else:
            general.append(f"{key}: {translate_reason(reason)}")
    return general


@bp.post("/widgets/<widget_id>/secondary-provider")
@require_role(Role.ADMIN)
def save_secondary_provider(widget_id: str) -> Any:
    widget = account_widget(widget_id)
    primary = provider_forms.provider_form(
        widget.provider, widget.provider, widget.provider_settings
    )
    provider = _shown_secondary(widget)
    if request.form.get("action") == "switch":  # show the chosen provider's form, save nothing
        return _page(
            widget,
            primary,
            widget.provider,
            secondary=(_secondary_form(widget, provider), provider),
        )
    form = _secondary_form(widget, provider, request.form)
    stored_provider = widget.secondary_provider or ""
    stored = widget.secondary_provider_settings or {}
    try:
        settings = provider_forms.submitted_settings(form, provider, stored_provider, stored)
    except FieldProblem as problem:
        form[problem.field].errors = [problem.message]
        return _page(widget, primary, widget.provider, 400, secondary=(form, provider))
    values = {
        SECONDARY.provider: provider or None,
        SECONDARY.settings: settings,
    }
    try:
        admin.update_widget(db.session(), widget, values, replace=False)
    except widgets.WidgetInvalid as exc:
        db.session().rollback()
        general = _place(form, exc.fields, SECONDARY)
        widget = account_widget(widget_id)
        return _page(
            widget,
            primary,
            widget.provider,
            400,
            secondary=(form, provider),
            secondary_general=general,
        )
    flash(
        gettext("Secondary provider saved.") if provider else gettext("Secondary provider removed.")
    )
    return redirect(url_for("dashboard.widget_provider", widget_id=widget.id) + "#secondary", 303)


@bp.post("/widgets/<widget_id>/test-call")
@require_role(Role.ADMIN)
def test_call(widget_id: str) -> Any:
    """Ring the number the owner typed, once it passed the widget's number policy."""
    widget = account_widget(widget_id)
    config = current_app.config
    form = provider_forms.provider_form(widget.provider, widget.provider, widget.provider_settings)
    try:
        result = trial_calls.place(
            widget,
            request.form.get("number", ""),
            storage=current_app.extensions[STORAGE],
            limit=config["TEST_CALL_LIMIT_PER_ACCOUNT"],
            egress=provider_policy(config),
        )
    except trial_calls.TrialCallRefused as refused:
        messages = {
            "limited": gettext("Too many test calls for now. Try again later."),
            "provider_settings": gettext("Save working provider settings first."),
        }
        message = messages.get(refused.reason) or refused.message
        status = 429 if refused.reason == "limited" else 400
        return _page(widget, form, widget.provider, status, refusal=message)
    return _page(widget, form, widget.provider, result=result)
