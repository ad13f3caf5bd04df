"""Languages: which locale a request is served in, and the message catalogues behind it.

Texts are marked with Flask-Babel's ``gettext``/``lazy_gettext`` in Python and ``_()`` in
templates; the catalogues live in ``translations/`` at the project root.
"""

from __future__ import annotations

from babel import Locale
from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale

from .settings import ROOT

SUPPORTED_LOCALES = ("en", "he", "ar", "es", "fr", "de", "pt", "ru")
RIGHT_TO_LEFT = frozenset({"he", "ar"})
DEFAULT_LOCALE = "en"
# Parsed once: Flask-Babel parses whatever the selector returns on each request (a check on
# disk for the locale's data each time), unless it is a Locale already.
_PARSED = {code: Locale.parse(code) for code in SUPPORTED_LOCALES}


def N_(message: str) -> str:
    """Mark a text for the catalogues where it is defined; it is translated where it is shown."""
    return message


def supported(tag: object) -> str | None:
    """Map a language tag such as ``pt-BR`` or ``he_IL`` to a supported locale, or None."""
    if not isinstance(tag, str):
        return None
    language = tag.strip().replace("_", "-").split("-")[0].lower()
    return language if language in SUPPORTED_LOCALES else None


def select_locale() -> str:
    """Pick the locale: an explicit ``locale`` parameter, then the browser's preferences."""
    if not has_request_context():
        return DEFAULT_LOCALE
    # Each looked at only when sent: parsing an absent query string or header still costs
    # every refusal a visitor's language is chosen for.
    explicit = supported(request.args.get("locale")) if request.query_string else None
    if explicit:
        return explicit
    if "Accept-Language" not in request.headers:
        return DEFAULT_LOCALE
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def _request_locale() -> Locale:
    return _PARSED[select_locale()]


def direction() -> str:
    """Say ``rtl`` or ``ltr`` for the locale of the current request."""
    return "rtl" if str(get_locale()) in RIGHT_TO_LEFT else "ltr"


def init_app(app: Flask) -> None:
    Babel(
        app,
        locale_selector=_request_locale,
        default_locale=DEFAULT_LOCALE,
        default_translation_directories=str(ROOT / "translations"),
    )
    app.jinja_env.globals.update(text_direction=direction, current_locale=get_locale)
