"""What free text from outside may hold before it is stored, sent on or shown."""

from __future__ import annotations

import re

# NUL above all, which PostgreSQL refuses in text; the rest break lines, logs and headers.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# JSON's \ud800 escapes decode to lone surrogates, which no encoding can write: storing one
# fails (SQLite, PostgreSQL) and so does sending it to a provider or a captcha service.
SURROGATE = re.compile(r"[\ud800-\udfff]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def has_unpaired_surrogate(value: object) -> bool:
    """Say whether a string anywhere in `value` (keys of objects too) holds a lone surrogate."""
    # A loop, not recursion: a value read from a file (the CLI) may nest without limit.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False
