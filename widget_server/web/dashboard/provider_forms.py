"""The provider forms, generated from the chosen provider's declared settings: one for the
widget's provider and one, the same but optional, for its secondary (failover) provider.

Secrets are write-only: their inputs start empty, and left empty they send the stored
value's hint, which the domain (`admin.update_widget`) turns back into the stored value only
while the settings still go where the stored ones went. Non-secrets show as stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, Form, SelectField, StringField, TextAreaField
from wtforms.widgets import PasswordInput

from ... import providers
from ...core.i18n import N_
from ...providers.base import Capability
from ...providers.setting_fields import Kind, SettingField
from .. import json_body
from .widget_editors import FieldProblem, options

PREFIX = "setting__"
RAW = "settings_json"  # the form of a provider that declares no settings


@dataclass(frozen=True)
class ProviderRole:
    """Which of a widget's providers a form edits: the properties it saves, and the prefix
    that keeps its fields' names and ids apart from the other form's on the same page."""

    provider: str
    settings: str
    prefix: str = ""
    optional: bool = False


PRIMARY = ProviderRole("provider", "provider_settings")
SECONDARY = ProviderRole(
    "secondary_provider", "secondary_provider_settings", prefix="secondary", optional=True
)
CAPABILITY_LABELS = {
    Capability.REPORTS_STATUS: _l("Reports how each call went"),
    Capability.CANCEL: _l("Can cancel a placed call"),
    Capability.WHISPER: _l("Tells the agent who is calling first"),
    Capability.ACCEPT_KEY: _l("The agent presses a key to take the call"),
    Capability.AMD: _l("Detects answering machines"),
    Capability.SIMULTANEOUS_RING: _l("Rings several agents at once"),
    Capability.SCHEDULING: _l("Books calls for later itself"),
}
NOTES = {
    "simulator": N_(
        "The simulator never places a real call: no phone rings. It plays a call's statuses "
        "on this server, so you can try the widget before connecting a provider."
    ),
}


def fields_of(provider: str) -> tuple[SettingField, ...]:
    found = providers.REGISTRY.get(provider)
    return found.setting_fields if found is not None else ()


def capabilities(provider: str) -> list[str]:
    found = providers.REGISTRY.get(provider)
    declared = sorted(found.capabilities) if found is not None else []
    return [str(CAPABILITY_LABELS.get(item, item)) for item in declared]


def _field(setting: SettingField, stored: bool) -> Field:
    label = gettext(setting.label)
    help = gettext(setting.help) if setting.help else ""
    if setting.secret:
        note = (
            gettext("A value is stored. Type a new one to replace it; leave empty to keep it.")
            if stored
            else gettext("Write-only: it is never shown again once saved.")
        )
        return StringField(
            label,
            description=f"{help} {note}".strip(),
            widget=PasswordInput(hide_value=True),
            render_kw={"autocomplete": "new-password"},
        )
    if setting.kind == Kind.BOOLEAN:
        return BooleanField(label, description=help)
    if setting.kind == Kind.CHOICE:
        # An optional choice without a default may stay unset.
        unset = [("", "—")] if setting.default is None and not setting.required else []
        pairs = unset + [(c, c) for c in setting.choices]
        return SelectField(label, description=help, choices=options(pairs))
    if setting.kind == Kind.JSON:
        return TextAreaField(label, description=help)
    extra = {"inputmode": "decimal"} if setting.kind == Kind.NUMBER else {}
    if setting.default is not None and setting.kind != Kind.BOOLEAN:
        extra["placeholder"] = str(setting.default)
    return StringField(label, description=help, render_kw={**extra, "dir": "ltr"})


def provider_form(
    provider: str,
    stored_provider: str,
    stored: Mapping[str, Any],
    formdata: Any = None,
    role: ProviderRole = PRIMARY,
) -> Form:
    """The settings form of `provider`, filled with the stored non-secret settings when the
    widget already uses it, else with the declared defaults ("" is none, for a secondary)."""
    same = provider == stored_provider
    declared = fields_of(provider)
    names = [(name, name) for name in sorted(providers.REGISTRY)]
    if role.optional:
        names.insert(0, ("", str(_l("None: no failover"))))
    label = _l("Secondary provider") if role.optional else _l("Provider")
    fields: dict[str, Field] = {"provider": SelectField(label, choices=options(names))}
    data: dict[str, Any] = {"provider": provider}
    for setting in declared:
        fields[PREFIX + setting.name] = _field(setting, same and setting.name in stored)
        if setting.secret:
            continue
        value = stored.get(setting.name, setting.default) if same else setting.default
        if setting.kind == Kind.JSON:
            value = json.dumps(value, ensure_ascii=False) if value is not None else ""
        elif setting.kind == Kind.BOOLEAN:
            value = bool(value)
        data[PREFIX + setting.name] = "" if value is None else value
    if not declared and provider:
        fields[RAW] = TextAreaField(
            _l("Settings (JSON)"),
            description=_l("Write-only: leave empty to keep the stored settings."),
        )
    form_type = type("ProviderForm", (Form,), fields)
    return form_type(formdata, data=data, prefix=role.prefix)


def submitted_settings(
    form: Form, provider: str, stored_provider: str, stored: Mapping[str, Any]
) -> dict[str, Any]:
    """Read the settings from the form; raise FieldProblem for text with no shape at all."""
    declared = fields_of(provider)
    if not provider:
        return {}  # no secondary: nothing to keep
    if not declared:
        text = (form[RAW].data or "").strip()
        if not text:
            return dict(stored) if provider == stored_provider else {}
        try:
            written = json_body.decode(text)
        except ValueError:
            raise FieldProblem(RAW, gettext("Enter valid JSON.")) from None
        if not isinstance(written, dict):
            raise FieldProblem(RAW, gettext("Enter a JSON object."))
        return written
    settings: dict[str, Any] = {}
    for setting in declared:
        name = PREFIX + setting.name
        raw = form[name].data
        if setting.secret:
            if raw:
                settings[setting.name] = raw
            elif provider == stored_provider and setting.name in stored:
                # Keep it: the domain puts the stored value back for the hint.
                settings[setting.name] = providers.secret_hint(stored[setting.name])
            continue
        if setting.kind == Kind.BOOLEAN:
            settings[setting.name] = bool(raw)
            continue
        text = (raw or "").strip() if isinstance(raw, str) else raw
        if text in ("", None):
            continue  # the adapter's default
        if setting.kind == Kind.NUMBER:
            settings[setting.name] = _number(name, text)
        elif setting.kind == Kind.JSON:
            try:
                settings[setting.name] = json_body.decode(text)
            except ValueError:
                raise FieldProblem(name, gettext("Enter valid JSON.")) from None
        else:
            settings[setting.name] = text
    return settings


def _number(field: str, text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise FieldProblem(field, gettext("Enter a number.")) from None


def error_field(key: str, role: ProviderRole = PRIMARY) -> str | None:
    """The provider form's field for a domain reason's key, if it has one."""
    if key == role.provider:
        return "provider"
    if key.startswith(role.settings + "."):
        return PREFIX + key.split(".", 1)[1]
    return None
