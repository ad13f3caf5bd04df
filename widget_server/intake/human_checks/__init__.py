"""Human checks a widget may ask for before a callback is accepted; off unless configured.

A widget's `human_check` is `{}` (off) or one of:

- `{"kind": "turnstile", "site_key": …, "secret_key": …}`: Cloudflare Turnstile;
- `{"kind": "hcaptcha", "site_key": …, "secret_key": …}`: hCaptcha;
- `{"kind": "altcha", "max_number": 50000}`: ALTCHA proof-of-work, self-hosted.

Every kind refuses a response that was used before (`consumed.py`), and the captchas fail
closed: when the provider cannot be asked, the answer is a refusal, never a pass.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ...core import metrics
from ...core.reasons import Reason
from .base import Attempt, HumanCheck, HumanCheckRefused

__all__ = [
    "REGISTRY",
    "Attempt",
    "HumanCheck",
    "HumanCheckRefused",
    "check",
    "enabled",
    "masked",
    "public",
    "validate",
]

log = logging.getLogger(__name__)


def _registry() -> dict[str, HumanCheck]:
    from .altcha import Altcha
    from .siteverify import HCaptcha, Turnstile

    return {check.kind: check for check in (Turnstile(), HCaptcha(), Altcha())}


REGISTRY: dict[str, HumanCheck] = _registry()
SECRET_FIELDS = ("secret_key",)


def enabled(config: Mapping[str, Any] | None) -> HumanCheck | None:
    """Return the check a widget configured, or None when human checks are off."""
    if not config:
        return None
    found = REGISTRY.get(str(config.get("kind")))
    if found is None:
        # Saved settings are validated, so this is a damaged row: never treat it as "off".
        raise HumanCheckRefused("misconfigured")
    return found


def validate(value: object) -> dict[str, Reason]:
    """Check a widget's `human_check` value; return {"human_check.<field>": reason}."""
    if value == {}:
        return {}
    if not isinstance(value, dict):
        return {"human_check": Reason("must be an object ({} turns human checks off)")}
    kind = value.get("kind")
    check = REGISTRY.get(kind) if isinstance(kind, str) else None
    if check is None:
        return {
            "human_check.kind": Reason(
                "must be one of %(choices)s", choices=", ".join(sorted(REGISTRY))
            )
        }
    return {f"human_check.{key}": reason for key, reason in check.validate(value).items()}


def masked(config: Mapping[str, Any]) -> dict[str, Any]:
    """Show a configuration without its secret: a hint of its last four characters at most."""
    shown = dict(config)
    for name in SECRET_FIELDS:
        if name in shown:
            text = str(shown[name])
            shown[name] = "••••" + text[-4:] if len(text) >= 12 else "••••"
    return shown


def keep_stored_secret(new: object, stored: Mapping[str, Any] | None) -> object:
    """Secrets are write-only: an update that leaves one out (or sends back the masked hint)
    keeps the stored one, as long as the kind stays the same."""
    if not (isinstance(new, dict) and stored and new.get("kind") == stored.get("kind")):
        return new
    merged = dict(new)
    hint = masked(stored)
    for name in SECRET_FIELDS:
        if name in stored and merged.get(name) in (None, hint.get(name)):
            merged[name] = stored[name]
    return merged


def count(kind: str, outcome: str) -> None:
    metrics.HUMAN_CHECKS.labels(kind, outcome).inc()


def public(config: Mapping[str, Any] | None, widget_id: str, settings: Any) -> dict[str, Any]:
    """What a browser needs to show the widget's check ({} when there is none)."""
    try:
        found = enabled(config)
    except HumanCheckRefused:
        return {}  # the submission will be refused; the page shows no broken widget
    return {} if found is None or config is None else found.public(config, widget_id, settings)


def check(
    session: Session, config: Mapping[str, Any] | None, attempt: Attempt, settings: Any
) -> None:
    """Pass when the widget has no check or the attempt passes it; otherwise raise
    HumanCheckRefused, logged (without the token) and counted by kind and reason."""
    try:
        found = enabled(config)
    except HumanCheckRefused as refusal:
        count("unknown", refusal.reason)
        log.error("refused widget=%s reason=human_check_misconfigured", attempt.widget_id)
        raise
    if found is None or config is None:
        return
    try:
        found.verify(session, config, attempt, settings)
    except HumanCheckRefused as refusal:
        count(found.kind, refusal.reason)
        log.info(
            "refused widget=%s reason=human_check_%s kind=%s",
            attempt.widget_id,
            refusal.reason,
            found.kind,
        )
        raise
    count(found.kind, "passed")
