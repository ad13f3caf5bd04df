"""The widget editor's form, built from the property declarations (`WidgetProperties`).

Each declared property gets an editor: a dedicated one where a plain input would not do
(texts, theme, hours…), otherwise one chosen by its declared type, so a property added to
the model later appears in the "More settings" section without a line here. The domain's
reasons (`WidgetInvalid.fields`, keyed by dotted property paths) are put back on the form
field that holds the offending part.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic.fields import FieldInfo
from wtforms import Form

from ...core.i18n import supported
from ...core.numbers import mask
from ...intake import phone_policy
from ...owners import widgets
from . import agent_editors as rows
from . import widget_editors as e
from .reasons import translate_reason

SECTIONS = (
    ("general", _l("General")),
    ("agents", _l("Agents")),
    ("departments", _l("Departments")),
    ("origins", _l("Allowed origins")),
    ("numbers", _l("Number policy")),
    ("texts", _l("Texts")),
    ("theme", _l("Look")),
    ("display", _l("Where the button shows")),
    ("hours", _l("Business hours and scheduling")),
    ("limits", _l("Limits")),
    ("retries", _l("Retries")),
    ("human_check", _l("Human check")),
    ("notifications", _l("Notifications")),
    ("other", _l("More settings")),
)
PLACES = {
    "name": "general",
    "enabled": "general",
    "closed": "general",
    "locale": "general",
    "extension": "general",
    "realm": "general",
    "auth_required": "general",
    "caller_id_number": "general",
    "outbound_callee_id_name": "general",
    "outbound_callee_id_number": "general",
    "timeout": "general",
    "agents": "agents",
    "strategy": "agents",
    "departments": "departments",
    "allowed_origins": "origins",
    "default_region": "numbers",
    "allowed_regions": "numbers",
    "allowed_number_types": "numbers",
    "whitelist": "numbers",
    "require_consent": "numbers",
    "texts": "texts",
    "theme": "theme",
    "display_rules": "display",
    "time_zone": "hours",
    "business_hours": "hours",
    "throttle": "limits",
    "limits": "limits",
    "max_retries": "retries",
    "retry_delay": "retries",
    "human_check": "human_check",
    "notify_emails": "notifications",
    "webhook_url": "notifications",
    "webhook_secret": "notifications",
}
LABELS = {
    "name": _l("Name"),
    "enabled": _l("Enabled"),
    "closed": _l("Closed now"),
    "locale": _l("Language"),
    "extension": _l("Agent extension or number"),
    "realm": _l("SIP realm"),
    "auth_required": _l("Connect API needs a key"),
    "caller_id_number": _l("Caller id shown to the agent"),
    "outbound_callee_id_name": _l("Name shown to the visitor"),
    "outbound_callee_id_number": _l("Number shown to the visitor"),
    "timeout": _l("Agent ring time (seconds)"),
    "allowed_origins": _l("Allowed origins"),
    "default_region": _l("Default country"),
    "allowed_regions": _l("Countries that may be called"),
    "allowed_number_types": _l("Kinds of number that may be called"),
    "whitelist": _l("Whitelist (regular expressions on +E.164)"),
    "require_consent": _l("Ask for consent"),
    "texts": _l("Texts"),
    "theme": _l("Look"),
    "display_rules": _l("Display rules"),
    "time_zone": _l("Time zone"),
    "business_hours": _l("Business hours"),
    "throttle": _l("Calls in progress at once (0: no limit)"),
    "limits": _l("Request limits"),
    "max_retries": _l("Retries"),
    "retry_delay": _l("Seconds between attempts"),
    "human_check": _l("Human check"),
    "notify_emails": _l("Email notifications to"),
    "webhook_url": _l("Webhook URL"),
    "webhook_secret": _l("Webhook secret"),
    "agents": _l("Agents"),
    "strategy": _l("Who is rung first"),
    "departments": _l("Departments"),
}
HELP = {
    "extension": _l(
        "Rung first: a number, an internal extension or a SIP URI. It is the first agent below."
    ),
    "agents": _l("Each agent is rung in the order of this list when the strategy is in order."),
    "departments": _l(
        "With departments, visitors pick one in the form and only its agents are rung."
    ),
    "allowed_origins": _l("Sites that may show the widget, e.g. https://www.example.com."),
    "allowed_regions": _l("Region codes such as ZA, US; empty: the default country only."),
    "whitelist": _l("One a line; empty: any number the other rules allow."),
    "time_zone": _l("An IANA time zone such as Africa/Johannesburg."),
    "notify_emails": _l("One address a line."),
    "webhook_secret": _l("Write-only: leave empty to keep the stored secret."),
}
NUMBER_TYPE_LABELS = {
    "fixed_line": _l("Landline"),
    "mobile": _l("Mobile"),
    "fixed_line_or_mobile": _l("Landline or mobile"),
    "toll_free": _l("Toll-free"),
    "premium_rate": _l("Premium rate"),
    "shared_cost": _l("Shared cost"),
    "voip": _l("Internet telephony (VoIP)"),
    "personal_number": _l("Personal number"),
    "pager": _l("Pager"),
    "uan": _l("Universal access number"),
    "voicemail": _l("Voicemail"),
    "unknown": _l("Of unknown kind"),
}
STRATEGY_LABELS = (
    ("ordered", _l("In order: the next agent when one does not answer")),
    ("round_robin", _l("In turn: each callback starts with the next agent")),
    ("simultaneous", _l("All at once, where the provider can")),
)
# Edited on the provider page, with the providers' declared settings.
ON_PROVIDER_PAGE = frozenset(
    {"provider", "provider_settings", "secondary_provider", "secondary_provider_settings"}
)
# Shown masked to viewers: numbers of the agent and of the caller ids (and every agent's
# extension in the agent rows, which the page masks by their part's name).
MASKED = frozenset(
    {
        "extension",
        "caller_id_number",
        "outbound_callee_id_number",
        f"display_rules{e.SEP}call_now",
    }
)
CEILINGS = {
    "per_number": "SUBMIT_LIMIT_PER_NUMBER",
    "per_prefix": "SUBMIT_LIMIT_PER_PREFIX",
    "distinct_numbers_per_ip": "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP",
    "per_widget": "SUBMIT_LIMIT_PER_WIDGET",
}


def _label(prop: str) -> Any:
    return LABELS.get(prop) or prop.replace("_", " ").capitalize()


def _enum(info: FieldInfo) -> list[str] | None:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    values = extra.get("enum") or (extra.get("items") or {}).get("enum")  # type: ignore[union-attr]
    return [str(value) for value in values] if isinstance(values, list) else None


WRITE_ONLY_HELP = _l("Write-only: leave empty to keep the stored settings.")


def write_only(prop: str, info: FieldInfo) -> bool:
    """Whether a property may hold credentials: its value is then never put in the page."""
    described = (info.description or "").lower()
    return "secret" in prop or prop.endswith("settings") or "write-only" in described


def generic_editor(prop: str, info: FieldInfo) -> e.Editor:
    """An editor chosen by the property's declared type, for properties with no dedicated one."""
    # A known property's declared description speaks to API clients; a new one's is all
    # the page has to say about it.
    label = _label(prop)
    help = HELP.get(prop) or ("" if prop in LABELS else info.description or "")
    annotation = info.annotation
    options = [(str(v), str(v)) for v in _enum(info) or []]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]  # an optional value
    if write_only(prop, info):
        return e.WriteOnlyJSONEditor(prop, label, help or WRITE_ONLY_HELP)
    if annotation is bool:
        return e.SwitchEditor(prop, label, help)
    if annotation is int:
        default = info.get_default(call_default_factory=True)
        return e.NumberEditor(prop, label, help, default if isinstance(default, int) else None)
    if typing.get_origin(annotation) is typing.Literal:
        literal = [(str(v), str(v)) for v in typing.get_args(annotation)]
        return e.ChoiceEditor(prop, label, help, literal)
    if annotation is str:
        return (
            e.ChoiceEditor(prop, label, help, options) if options else e.Editor(prop, label, help)
        )
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,):
        if options:
            return e.CheckboxesEditor(prop, label, help, options)
        return e.LinesEditor(prop, label, help)
    return e.JSONEditor(prop, label, help)


def editors(locale: str, config: Mapping[str, Any]) -> list[e.Editor]:
    """One editor per declared property, in declaration order (provider ones excepted)."""
    ceilings = {key: str(config.get(name, "")) for key, name in CEILINGS.items()}
    number_types = [
        (name, NUMBER_TYPE_LABELS.get(name, name)) for name in phone_policy.NUMBER_TYPES
    ]
    dedicated: dict[str, Any] = {
        "allowed_origins": e.OriginsEditor,
        "allowed_regions": e.CodesEditor,
        "allowed_number_types": lambda p, label, hint: e.CheckboxesEditor(
            p, label, hint, number_types
        ),
        "whitelist": e.WhitelistEditor,
        "texts": lambda p, label, hint: e.TextsEditor(p, label, hint, locale=locale),
        "theme": e.ThemeEditor,
        "display_rules": e.RulesEditor,
        "business_hours": e.HoursEditor,
        "limits": lambda p, label, hint: e.LimitsEditor(p, label, hint, ceilings),
        "human_check": e.HumanCheckEditor,
        "webhook_secret": e.SecretEditor,
        "notify_emails": e.LinesEditor,
        "agents": rows.AgentsEditor,
        "departments": rows.DepartmentsEditor,
        "strategy": lambda p, label, hint: e.ChoiceEditor(p, label, hint, list(STRATEGY_LABELS)),
    }
    found = []
    for prop, info in widgets.FIELDS.items():
        if prop in ON_PROVIDER_PAGE:
            continue
        make = dedicated.get(prop)
        label, help = _label(prop), HELP.get(prop) or ""
        found.append(make(prop, label, help) if make else generic_editor(prop, info))
    return found


def form_class(found: list[e.Editor]) -> type[Form]:
    fields = {name: f for editor in found for name, f in editor.fields().items()}
    return type("WidgetEditorForm", (Form,), fields)


@dataclass
class Editing:
    """The editor form for one widget, and what it read from a submission."""

    editors: list[e.Editor]
    form: Form
    errors: dict[str, str] = field(default_factory=dict)  # form field -> reason
    general: list[str] = field(default_factory=list)  # reasons no field holds

    def sections(self) -> list[tuple[str, Any, list[e.Editor]]]:
        grouped: dict[str, list[e.Editor]] = {key: [] for key, _ in SECTIONS}
        for editor in self.editors:
            grouped[PLACES.get(editor.prop, "other")].append(editor)
        return [(key, label, grouped[key]) for key, label in SECTIONS if grouped[key]]

    def languages_in_error(self) -> set[str]:
        """The languages whose texts hold an error: their part of the page opens."""
        return {name.split(e.SEP)[1] for name in self.errors if name.startswith(f"texts{e.SEP}")}

    def field_names(self, editor: e.Editor) -> list[str]:
        return list(editor.fields())

    @property
    def focus(self) -> str | None:
        """The field to focus after rows were added or moved (the page re-renders unsaved)."""
        return next(
            (r.focus for r in self.editors if isinstance(r, rows.RowsEditor) and r.focus), None
        )


def editing(widget: Any, config: Mapping[str, Any], formdata: Any = None) -> Editing:
    """Build the editor form, filled from `formdata` or else from the widget's properties."""
    found = editors(supported(widget.locale) or "en", config)
    for editor in found:
        formdata = editor.prepare(getattr(widget, editor.prop, None), formdata)
    initial: dict[str, Any] = {}
    for editor in found:
        initial.update(editor.initial(getattr(widget, editor.prop, None)))
    form = form_class(found)(formdata, data=initial)
    return Editing(found, form)


def submitted_values(edit: Editing, formdata: Any, widget: Any) -> dict[str, Any] | None:
    """Read every property from the submitted form; None (and `edit.errors`) if unreadable."""
    data = edit.form.data
    values: dict[str, Any] = {}
    for editor in edit.editors:
        try:
            values[editor.prop] = editor.value(data, formdata, getattr(widget, editor.prop, None))
        except e.FieldProblem as problem:
            edit.errors[problem.field] = problem.message
    return None if edit.errors else values


def place_errors(edit: Editing, reasons: Mapping[str, str]) -> None:
    """Show each of the domain's reasons, in the page's language, next to the form field
    that holds that part (found from the English reason's path, as the API reads it)."""
    by_prop = {editor.prop: editor for editor in edit.editors}
    for key, reason in reasons.items():
        editor = by_prop.get(key.split(".", 1)[0])
        if editor is None:
            edit.general.append(f"{key}: {translate_reason(reason)}")
            continue
        name = editor.error_field(key, reason)
        # A reason placed on a part's own field (a row's extension, one language's title)
        # needs no path: the field says where; on the property's one field, the path does.
        edit.errors.setdefault(name, translate_reason(reason, with_path=name == editor.name()))


DIGIT = re.compile(r"[0-9]")
# A number inside a structured value (an agents list): 5+ digits, spaces or punctuation.
NUMBER_RUN = re.compile(r"\+?[0-9][0-9 ().-]{3,}[0-9]")


def masked_text(text: object) -> str:
    """A number for a viewer: +E.164 as core.numbers masks it, else all but two digits hidden."""
    value = "" if text is None else str(text)
    if re.fullmatch(r"\+[0-9]{6,15}", value):
        return mask(value)
    if not NUMBER_RUN.fullmatch(value) and NUMBER_RUN.search(value):
        # A structured value: each number in it masked, its labels and hours left readable.
        return NUMBER_RUN.sub(lambda found: masked_text(found.group(0)), value)
    digits = len(DIGIT.findall(value))
    seen = 0

    def hide(match: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return match.group(0) if seen > digits - 2 else "•"

    return DIGIT.sub(hide, value)
