"""Request bodies read as JSON: the one reader of every JSON route, bounded in depth.

Python's decoder recurses once per level, so a body of a thousand `[` (2 KB, well under
the body limit) exhausts the interpreter's stack. No payload of this product nests deeper
than six levels: a body nesting deeper is refused before it is decoded.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from ..core.errors import BadRequest

MAX_DEPTH = 32
NOT_AN_OBJECT = "The body must be a JSON object."
TOO_DEEP = f"Nested deeper than {MAX_DEPTH} levels."
# What moves the depth or a string's end; everything else is skipped by the scanner.
_STRUCTURE = re.compile(r'["\\\[\]{}]')
_SHOWN_KEY = 64


def decode(raw: bytes | str) -> Any:
    """Return the JSON value of `raw`: ValueError if it is not JSON, BadRequest if too deep."""
    # As json.loads decodes bytes, so the scanner reads the same characters as the decoder.
    text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
    where = too_deep(text)
    if where is not None:
        raise BadRequest(TOO_DEEP, fields={where: TOO_DEEP} if where else None, reason="too_deep")
    return json.loads(text)


def request_object() -> dict[str, Any]:
    """Return the request's body, which must be a JSON object (BadRequest otherwise)."""
    try:
        body = decode(request.get_data(cache=True))
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest(NOT_AN_OBJECT)
    return body


def too_deep(text: str) -> str | None:
    """Return where `text` first nests deeper than MAX_DEPTH, or None when it never does.

    Where is the path of object keys leading there ("data.texts"), "" outside any object.
    One pass over the structural characters only, without recursion.
    """
    containers: list[str] = []
    keys: list[str | None] = []  # per object level: the key of the member being read
    in_string, escaped, opened = False, -1, 0
    last_string = ""
    for match in _STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if in_string:
            if at == escaped:
                continue
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string, last_string = False, text[opened : at + 1]
            continue
        if char == '"':
            in_string, opened = True, at
        elif char in "[{":
            if containers and containers[-1] == "{":
                # A value inside an object comes straight after its key.
                keys[-1] = last_string
            containers.append(char)
            keys.append(None)
            if len(containers) > MAX_DEPTH:
                return _path(containers, keys)
        elif containers:
            containers.pop()
            keys.pop()
    return None


def _path(containers: list[str], keys: list[str | None]) -> str:
    names = []
    for container, key in zip(containers, keys, strict=True):
        if container != "{" or key is None:
            break
        try:
            name = str(json.loads(key))
        except ValueError:
            name = key[1:-1]
        names.append(name[:_SHOWN_KEY])
    return ".".join(names)
