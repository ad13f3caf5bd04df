"""UTM parameters: the campaign a visitor came from, read from the page's URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_VALUE = 256


def from_page_url(page_url: str | None) -> dict[str, str]:
    """Return the page URL's utm_* query parameters (the first of each; others ignored)."""
    if not page_url:
        return {}
    try:
        query = urlsplit(page_url).query
    except ValueError:
        return {}
    found: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key in UTM_KEYS and key not in found:
            # Printable text only: the values travel on to the site owner's CRM.
            found[key] = "".join(ch for ch in value if ch.isprintable())[:MAX_VALUE]
    return found
