"""The editor's live preview: the widget's real form page and button, with the look and
texts the editor holds now, in an iframe beside the editor.

Nothing is saved: the page renders an unsaved copy of the widget whose overrides passed
the domain's own checks (an override that could not be saved is left out).
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from werkzeug.datastructures import MultiDict

from ...core.i18n import SUPPORTED_LOCALES, supported
from ...core.models import Widget
from ...owners import display, texts, widgets
from ...owners.people import Role
from ..forms import build_form
from ..headers import BASE_POLICY
from . import widget_editors as e
from .access import require_role
from .blueprint import bp
from .widget_lookup import account_widget

PREVIEW_POLICY = f"{BASE_POLICY}; form-action 'none'; frame-ancestors 'self'"
# The fields the live preview shows, as form field -> preview query parameter.
PREVIEW_FIELDS = {
    f"theme{e.SEP}color": "color",
    f"theme{e.SEP}position": "position",
    f"theme{e.SEP}radius": "radius",
    f"theme{e.SEP}icon": "icon",
}
PREVIEW_TEXTS = ("button", "title", "intro", "phone_label", "submit")


def preview_query(edit: Any, widget: Widget) -> dict[str, str]:
    """The preview page's query for what the editor's form holds now (entered or stored)."""
    data = edit.form.data
    query = {param: str(data.get(name) or "") for name, param in PREVIEW_FIELDS.items()}
    language = supported(widget.locale) or "en"
    for key in PREVIEW_TEXTS:
        value = data.get(f"texts{e.SEP}{language}{e.SEP}{key}")
        if value:
            query[key] = str(value)
    query["lang"] = language
    query["locale"] = language  # the preview speaks the widget's language, not the editor's
    return {k: v for k, v in query.items() if v}


def previewed(widget: Widget, args: MultiDict[str, str]) -> Widget:
    """An unsaved copy of the widget with the previewed look and texts, where savable."""
    theme = dict(widget.theme or {})
    for param in ("color", "position", "icon"):
        if args.get(param):
            theme[param] = args[param]
    if args.get("radius", "").isdigit():
        theme["radius"] = int(args["radius"])
    language = args.get("lang") if args.get("lang") in SUPPORTED_LOCALES else widget.locale
    entered = e.migrate_plain_texts(dict(widget.texts or {}), supported(widget.locale) or "en")
    own = {**entered.get(language, {}), **{k: args[k] for k in PREVIEW_TEXTS if args.get(k)}}
    entered[language] = own
    values = {key: getattr(widget, key) for key in widgets.PROPERTIES}
    if display.theme_errors(theme) is None:
        values["theme"] = theme
    if texts.errors(entered) is None:
        values["texts"] = entered
    return Widget(id=widget.id, account_id=widget.account_id, **values)


def preview_language(widget: Widget) -> str:
    language = request.args.get("lang")
    return language if language in SUPPORTED_LOCALES else widget.locale


@bp.get("/widgets/<widget_id>/preview")
@require_role(Role.VIEWER)
def widget_preview(widget_id: str) -> Any:
    widget = previewed(account_widget(widget_id), request.args)
    theme = widget.theme or {}
    html = render_template(
        "dashboard/widget_preview.html",
        widget=widget,
        form=build_form(widget),
        host="",
        message=None,
        post_to_host=False,
        human_check={},  # no captcha's script in a preview: no third-party request
        preview=True,
        schedule=False,
        side=theme.get("position", "right"),
        icon=display.ICONS.get(str(theme.get("icon", "none")), ""),
        stylesheet_query=request.query_string.decode(),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/widgets/<widget_id>/preview.css")
@require_role(Role.VIEWER)
def widget_preview_css(widget_id: str) -> Any:
    """The previewed colours: the form page's accent and the button's own stylesheet."""
    widget = previewed(account_widget(widget_id), request.args)
    theme = widget.theme or {}
    color = str(theme.get("color") or display.DEFAULT_COLOR)
    css = display.form_css(widget) + display.button_css(color, theme.get("radius", 26))
    response = Response(css.replace(":host{all:initial}", ""), mimetype="text/css")
    response.headers["Cache-Control"] = "no-store"
    return response
