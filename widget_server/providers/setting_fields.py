"""Each provider's settings, declared once: the owner's provider form, the admin API's
masking of secrets and the docs read these declarations.

Labels and help are English source texts marked for translation; the web layer translates
them when it shows them (providers never import Flask or its translation machinery).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated where it is shown."""
    return message


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"  # seconds or a port: an int or a float
    BOOLEAN = "boolean"
    CHOICE = "choice"  # one of `choices`
    JSON = "json"  # an object, written as JSON


@dataclass(frozen=True)
class SettingField:
    """One provider setting: how an owner fills it in, and whether it is a secret."""

    name: str
    label: str
    help: str = ""
    kind: Kind = Kind.TEXT
    secret: bool = False  # write-only: never shown, never answered, never logged
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()


def secret_names(fields: Iterable[SettingField]) -> frozenset[str]:
    return frozenset(field.name for field in fields if field.secret)


def names(fields: Iterable[SettingField]) -> tuple[str, ...]:
    return tuple(field.name for field in fields)


def timeouts() -> tuple[SettingField, ...]:
    """The connect and read timeouts every networked adapter takes (its checks give limits)."""
    return (
        SettingField(
            "connect_timeout",
            N_("Connect timeout"),
            N_("Seconds to wait for a connection, at most 60."),
            Kind.NUMBER,
        ),
        SettingField(
            "read_timeout",
            N_("Read timeout"),
            N_("Seconds to wait for the provider's answer."),
            Kind.NUMBER,
        ),
    )


def base_url(default: str, paths: str) -> SettingField:
    """The `base_url` setting: where the provider's API lives, and how paths are added."""
    return SettingField(
        "base_url",
        N_("API address (base URL)"),
        paths,
        Kind.TEXT,
        required=not default,
        default=default or None,
    )


def masked(fields: Iterable[SettingField], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as an answer may show them: secrets only hinted, the rest as they are."""
    secrets = secret_names(fields)
    return {
        name: secret_hint(value) if name in secrets else value for name, value in settings.items()
    }


def secret_hint(value: object) -> str:
    """Say that a secret is set, revealing at most its last four characters."""
    text = str(value)
    return "••••" + text[-4:] if len(text) >= 12 else "••••"


def pbx_socket(default_port: int) -> tuple[SettingField, ...]:
    """The host, port and number format every PBX socket adapter takes."""
    return (
        SettingField(
            "host",
            N_("Host"),
            N_("The PBX's host name or IP address (no URL: the connection is a TCP socket)."),
            required=True,
        ),
        SettingField(
            "port",
            N_("Port"),
            N_("The PBX's TCP port."),
            Kind.NUMBER,
            default=default_port,
        ),
        SettingField(
            "visitor_format",
            N_("Visitor number format"),
            N_("How the visitor's number is written in the dial string: +E.164, digits, or 00."),
            Kind.CHOICE,
            default="e164",
            choices=("e164", "digits", "00"),
        ),
    )
