"""How and where a widget's button shows on a host page: its theme and its display rules.

The server checks both when a widget is saved and hands the loader ready-made values
(a contrast-checked text colour, path patterns as regular expressions, a ``tel:`` link),
so the loader on every host page stays a few hundred bytes of plain decisions.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from ..core.i18n import N_, RIGHT_TO_LEFT
from ..core.reasons import Reason

# The default brand colour, a teal that carries white text at 5.5:1 (the contrast rule below
# still picks the text colour for owners' own colours).
DEFAULT_COLOR = "#0f766e"
COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
POSITIONS = ("right", "left")
# Icons are SVG path data (24×24) the loader draws inline: no image request, nothing to
# sanitise, and no glyph in the button's accessible name.
ICONS = {
    "none": "",
    "phone": "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 "
    "1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 "
    "3.6.1.3 0 .7-.2 1z",
    "chat": "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z",
}
CLOSE_ICON = (
    "M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4l5.6 5.6L5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6z"
)
# The form page's colours: light (the default, whatever the visitor's system prefers, so a
# dark panel never lands on a light page), dark, or the visitor's system setting.
COLOR_SCHEMES = ("light", "dark", "auto")
MAX_RADIUS = 32
OUTSIDE_HOURS = ("show", "hide", "schedule")
MAX_PATTERNS = 50
MAX_DELAY = 600
# A path pattern is a path with * for "anything": "/shop/*", "*/checkout", "/".
ONE_OF = N_("must be one of %(choices)s")
PATH_PATTERN = re.compile(r"[*/][A-Za-z0-9\-._~!$&'()*+,;=:@%/]{0,199}")


# The button's stylesheet, adopted by the loader's shadow root (a constructed stylesheet,
# so it works under a strict style-src). Colours are checked by COLOR before they get here.
# The panel is a column whose iframe shrinks to the room left, so on a short screen the form
# scrolls inside its own frame (focus and the submit button stay reachable) instead of being
# cut off: below 600 px of height it stands beside the button, or, when narrow too, above
# it with less margin (never over it: the button would hide the form's own).
BUTTON_CSS = (
    ":host{all:initial}"
    ".b{all:initial;box-sizing:border-box;cursor:pointer;display:flex;align-items:center;"
    "gap:8px;height:52px;padding:0 20px;border-radius:$radius;background:$color;"
    "color:$text;font:600 15px/1 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.3)}"
    ".b svg{width:20px;height:20px;fill:currentColor;flex:none}"
    # A black-white-black focus ring: at least 3:1 against any host page background.
    ".b:focus-visible,a:focus-visible{outline:2px solid #fff;outline-offset:2px;"
    "box-shadow:0 0 0 6px #000}"
    ".p{position:absolute;bottom:64px;right:0;width:360px;max-width:calc(100vw - 24px);"
    "max-height:calc(100vh - 96px);max-height:calc(100dvh - 96px);display:flex;"
    "flex-direction:column;overflow:hidden;background:$panel;border-radius:12px;"
    "box-shadow:0 8px 30px rgba(0,0,0,.3)}.l .p{right:auto;left:0}"
    ".p[hidden],.n{display:none}iframe{border:0;width:100%;height:480px;display:block;"
    "flex:0 1 auto;min-height:0}"
    "@media (max-width:640px){.n{display:block;flex:none;padding:14px;text-align:center;"
    "font:600 16px system-ui,sans-serif;color:$link}}"
    "@media (max-height:600px){.p{bottom:0;right:calc(100% + 12px);"
    "max-height:calc(100vh - 28px);max-height:calc(100dvh - 28px)}"
    ".l .p{right:auto;left:calc(100% + 12px)}}"
    "@media (max-height:600px) and (max-width:640px){.p{bottom:64px;right:0;"
    "max-height:calc(100vh - 92px);max-height:calc(100dvh - 92px)}.l .p{right:auto;left:0}}"
    # The panel follows the form's height smoothly, unless the visitor asked for less motion.
    "@media (prefers-reduced-motion:no-preference){.b{transition:transform .15s}"
    ".b:hover{transform:scale(1.04)}iframe{transition:height .2s ease-out}}"
)
# The panel's own colours behind the form (seen while it loads) and of its "call us now".
PANEL_LIGHT = ("#fff", "#0b3d91")
PANEL_DARK = ("#15191f", "#8cc2ff")


def button_css(color: str, radius: int, scheme: str = "light") -> str:
    light, dark = PANEL_LIGHT, PANEL_DARK
    panel, link = dark if scheme == "dark" else light
    css = (
        BUTTON_CSS.replace("$radius", f"{int(radius)}px")
        .replace("$color", color)
        .replace("$text", text_color(color))
        .replace("$panel", panel)
        .replace("$link", link)
    )
    if scheme == "auto":
        background, link = dark
        css += (
            f"@media (prefers-color-scheme:dark){{.p{{background:{background}}}.n{{color:{link}}}}}"
        )
    return css


def color_scheme(widget: Any) -> str:
    """The widget's `color_scheme` theme setting: light unless the owner chose otherwise."""
    theme = widget.theme if isinstance(widget.theme, dict) else {}
    scheme = theme.get("color_scheme")
    return scheme if scheme in COLOR_SCHEMES else "light"


def form_css(widget: Any) -> str:
    """The form page's accent (its submit button) in the widget's colour, readable text on it."""
    theme = widget.theme if isinstance(widget.theme, dict) else {}
    color = theme.get("color")
    if not (isinstance(color, str) and COLOR.fullmatch(color)):
        return ""  # the form's own light and dark defaults
    return f":root{{--accent:{color};--accent-fg:{text_color(color)}}}\n"


def theme_errors(value: object) -> Reason | None:
    """Say what is wrong with a widget's `theme` (None when it can be saved)."""
    if not isinstance(value, dict):
        return Reason("must be an object")
    for key, item in value.items():
        if key == "color":
            if not isinstance(item, str) or not COLOR.fullmatch(item):
                return Reason("must be a colour such as #0b5cad or #06c").at(key)
        elif key == "position":
            if item not in POSITIONS:
                return Reason("must be right or left").at(key)
        elif key == "radius":
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= MAX_RADIUS:
                return Reason("must be an integer from 0 to %(max)s (pixels)", max=MAX_RADIUS).at(
                    key
                )
        elif key == "icon":
            if item not in ICONS:
                return Reason(ONE_OF, choices=", ".join(ICONS)).at(key)
        elif key == "color_scheme":
            if item not in COLOR_SCHEMES:
                return Reason(ONE_OF, choices=", ".join(COLOR_SCHEMES)).at(key)
        else:
            return Reason("unknown setting; use color, position, radius, icon or color_scheme").at(
                key
            )
    return None


def rules_errors(value: object) -> Reason | None:
    """Say what is wrong with a widget's `display_rules` (None when they can be saved)."""
    if not isinstance(value, dict):
        return Reason("must be an object")
    for key, item in value.items():
        if key in ("show_on", "hide_on"):
            if not isinstance(item, list) or len(item) > MAX_PATTERNS:
                return Reason(
                    "must be a list of at most %(count)s path patterns", count=MAX_PATTERNS
                ).at(key)
            for index, pattern in enumerate(item):
                if not isinstance(pattern, str) or not PATH_PATTERN.fullmatch(pattern):
                    return Reason(
                        "entry %(index)s must be a URL path such as /shop/* "
                        "(starting with / or *, at most 200 characters, * matches anything)",
                        index=index,
                    ).at(key)
        elif key == "delay_seconds":
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= MAX_DELAY:
                return Reason("must be an integer from 0 to %(max)s", max=MAX_DELAY).at(key)
        elif key == "outside_hours":
            if item not in OUTSIDE_HOURS:
                return Reason(ONE_OF, choices=", ".join(OUTSIDE_HOURS)).at(key)
        elif key == "call_now":
            if item is not None and _call_now_number(item) is None:
                return Reason("must be a valid phone number in international form (+…)").at(key)
        else:
            return Reason(
                "unknown rule; use show_on, hide_on, delay_seconds, outside_hours or call_now"
            ).at(key)
    return None


def pattern_regex(pattern: str) -> str:
    """Turn a path pattern into an anchored regular expression both Python and JS read alike."""
    parts = (
        re.sub(r"[\\^$.|?*+()\[\]{}/]", lambda m: "\\" + m.group(0), p) for p in pattern.split("*")
    )
    return "^" + ".*".join(parts) + "$"


def _call_now_number(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rgb/#rrggbb colours (1 to 21)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(color: str) -> float:
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    channels = []
    for i in (0, 2, 4):
        c = int(digits[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def text_color(background: str) -> str:
    """Black or white, whichever reads better; either reaches 4.5:1 on any colour."""
    return (
        "#000000"
        if contrast(background, "#000000") >= contrast(background, "#ffffff")
        else "#ffffff"
    )


def embed_config(
    widget: Any, locale: str, texts: dict[str, str], color: object = None
) -> dict[str, Any]:
    """What the loader needs to draw and place the button, in the visitor's language.

    `color` is the tag's data-color, which wins over the theme when it is a colour.
    """
    theme = widget.theme if isinstance(widget.theme, dict) else {}
    rules = widget.display_rules if isinstance(widget.display_rules, dict) else {}
    if not (isinstance(color, str) and COLOR.fullmatch(color)):
        color = (
            theme.get("color") if COLOR.fullmatch(str(theme.get("color", ""))) else DEFAULT_COLOR
        )
    side = theme.get("position") if theme.get("position") in POSITIONS else "right"
    if locale in RIGHT_TO_LEFT:  # mirrored layout: the corner a right-to-left reader expects
        side = "left" if side == "right" else "right"
    number = _call_now_number(rules.get("call_now"))
    return {
        "dir": "rtl" if locale in RIGHT_TO_LEFT else "ltr",
        "lang": locale,
        "color": color,
        "text_color": text_color(str(color)),
        "css": button_css(str(color), theme.get("radius", 26), color_scheme(widget)),
        "side": side,
        "icon": ICONS.get(str(theme.get("icon", "none")), ""),
        "close_icon": CLOSE_ICON,
        "label": texts["button"],
        "close_label": texts["close"],
        "schedule_label": texts["schedule_button"],
        "call_now": {"href": f"tel:{number}", "label": texts["call_now"]} if number else None,
        "show_on": [pattern_regex(p) for p in rules.get("show_on", [])],
        "hide_on": [pattern_regex(p) for p in rules.get("hide_on", [])],
        "delay_seconds": rules.get("delay_seconds", 0),
        "outside_hours": rules.get("outside_hours", "show"),
    }
