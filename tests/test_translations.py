"""Message catalogues: every marked text translated in every language, placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from widget_server.core.i18n import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "_l": None,
    "N_": None,
    "Reason": None,  # core.reasons: a refusal's template
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def marked_messages() -> set[str]:
    """Every text marked in the code and templates, extracted as `make messages` does."""
    method_map = [("widget_server/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.fixture(scope="module")
def messages() -> set[str]:
    found = marked_messages()
    assert len(found) > 50  # the extraction really saw the code
    return found


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_translated_with_its_placeholders(locale: str, messages: set[str]) -> None:
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    entries = {m.id: m for m in catalog if m.id}
    missing = sorted(messages - set(entries))
    assert missing == [], f"{locale}: not in the catalogue (run make messages): {missing}"
    for msgid in messages:
        entry = entries[msgid]
        assert entry.string, f"{locale}: empty translation for {msgid!r}"
        assert not entry.fuzzy, f"{locale}: fuzzy translation for {msgid!r}"
        assert set(PLACEHOLDER.findall(entry.string)) == set(PLACEHOLDER.findall(msgid)), (
            f"{locale}: placeholders differ in {entry.string!r}"
        )
        if locale != "en":
            assert entry.string != msgid, f"{locale}: {msgid!r} is left in English"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalogue_matches_its_source(locale: str) -> None:
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as fh:
        source = {m.id: m.string for m in read_po(fh) if m.id}
    with (folder / "messages.mo").open("rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    assert compiled == source, f"{locale}: messages.mo is stale; run make catalogues"
