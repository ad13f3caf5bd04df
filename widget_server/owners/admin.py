"""Admin domain: API keys, widgets as Kazoo clicktocall documents, and their call history."""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import providers
from ..core import ids
from ..core.models import ApiKey, Callback, Widget, utcnow
from ..core.reasons import Reason
from ..core.statuses import Status
from ..core.tokens import FormToken, Tokens
from ..intake import human_checks
from . import audit, widgets

KEY_PREFIX = "wsk_"
LOOKUP_CHARS = 12
SUMMARY_FIELDS = ("id", "name", "extension", "realm")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


# API keys


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, account_id: str, name: str) -> tuple[ApiKey, str]:
    """Store a new key for an account; return the record and the key, which is not kept."""
    lookup = secrets.token_hex(LOOKUP_CHARS // 2)
    key = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    record = ApiKey(account_id=account_id, name=name, lookup=lookup, key_hash=_hash(key))
    session.add(record)
    session.flush()
    return record, key


def authenticate(session: Session, presented: str) -> ApiKey | None:
    """Return the live key matching `presented` and note its use; None for anything else."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 128:
        return None
    lookup = presented[len(KEY_PREFIX) : len(KEY_PREFIX) + LOOKUP_CHARS]
    if not ids.plausible(lookup):
        return None  # not a key this server made; keeps odd bytes out of the query
    record = session.scalars(select(ApiKey).where(ApiKey.lookup == lookup)).first()
    expected = record.key_hash if record is not None else _hash("")
    # Compared in constant time even when no key has this lookup part.
    matches = hmac.compare_digest(_hash(presented), expected)
    if record is None or not matches or record.revoked_at is not None:
        return None
    record.last_used_at = utcnow()
    session.commit()
    return record


def revoke_key(session: Session, key_id: str, account_id: str | None = None) -> ApiKey | None:
    record = session.get(ApiKey, key_id) if ids.plausible(key_id) else None
    if record is None or (account_id is not None and record.account_id != account_id):
        return None
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    return record


def list_keys(session: Session, account_id: str | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if account_id is not None:
        query = query.where(ApiKey.account_id == account_id)
    return list(session.scalars(query))


# Widgets (Kazoo's clicktocall documents)


def settings_hint(provider: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Show provider settings as stored, except secrets: those only say they are set,
    revealing at most their last four characters."""
    return providers.shown_settings(provider, settings)


def document(widget: Widget) -> dict[str, Any]:
    """Return a widget as its clicktocall document; provider settings are masked."""
    values = {key: getattr(widget, key) for key in widgets.PROPERTIES}
    values["provider_settings"] = settings_hint(widget.provider, widget.provider_settings)
    values["secondary_provider_settings"] = settings_hint(
        widget.secondary_provider or "", widget.secondary_provider_settings or {}
    )
    values["human_check"] = human_checks.masked(widget.human_check or {})
    values["webhook_secret"] = secret_hint(widget.webhook_secret)
    return {"id": widget.id, **values}


def secret_hint(secret: str | None) -> str | None:
    """Say only whether a write-only secret is set: no part of it is ever answered."""
    return "••••" if secret else None


def summary(widget: Widget) -> dict[str, Any]:
    return {key: getattr(widget, key) for key in SUMMARY_FIELDS}


def account_widgets(session: Session, account_id: str) -> list[Widget]:
    query = select(Widget).where(Widget.account_id == account_id).order_by(Widget.created_at)
    return list(session.scalars(query))


def find_widget(session: Session, account_id: str, widget_id: str) -> Widget | None:
    """Return the account's widget, or None: another account's widget is not found either."""
    widget = session.get(Widget, widget_id) if ids.plausible(widget_id) else None
    return widget if widget is not None and widget.account_id == account_id else None


def create_widget(
    session: Session, account_id: str, values: dict[str, Any], actor: audit.Actor | None = None
) -> Widget:
    widget = Widget(account_id=account_id, **widgets.clean(values))
    session.add(widget)
    if actor is not None:
        session.flush()  # the entry names the widget by its id
        audit.record(
            session,
            actor,
            audit.WIDGET_CREATED,
            object_type="widget",
            object_id=widget.id,
            details={"name": widget.name},
        )
    session.commit()
    return widget


def _current(widget: Widget) -> dict[str, Any]:
    return {key: getattr(widget, key) for key in widgets.PROPERTIES}


def update_widget(
    session: Session,
    widget: Widget,
    values: dict[str, Any],
    *,
    replace: bool,
    actor: audit.Actor | None = None,
    action: str = audit.WIDGET_CHANGED,
) -> Widget:
    """Save new properties: `replace` (Kazoo's POST) resets omitted ones to their defaults.

    Provider settings and the webhook secret are write-only, so a replace that omits them
    keeps the stored ones rather than erasing credentials the client could never read back.
    With an `actor`, the names of the changed properties are recorded as `action`.
    """
    before = _current(widget)
    if values.get("webhook_secret") == secret_hint("set"):
        # A client sending back the document it read: the mask means "keep the secret".
        values = {k: v for k, v in values.items() if k != "webhook_secret"}
    current = _current(widget)
    # The human check's secret key is write-only too: sending the masked document back, or
    # leaving the key out, keeps the stored one.
    if "human_check" in values:
        values = {
            **values,
            "human_check": human_checks.keep_stored_secret(
                values["human_check"], widget.human_check
            ),
        }
    values = _unmasked(widget, values)
    if replace:
        base = dict(widgets.DEFAULTS)
        for role, settings_key in PROVIDER_ROLES:
            if settings_key not in values and values.get(role, getattr(widget, role)) == (
                getattr(widget, role)
            ):
                base[settings_key] = getattr(widget, settings_key)
        if "human_check" not in values:
            # Never turn a widget's bot protection off by leaving a field out.
            base["human_check"] = widget.human_check
        # The webhook secret is write-only too: a replace without it keeps the stored one.
        if "webhook_secret" not in values:
            base["webhook_secret"] = widget.webhook_secret
        cleaned = widgets.clean(values, base)
    else:
        cleaned = widgets.clean(values, current)
    for key, value in cleaned.items():
        setattr(widget, key, value)
    if actor is not None:
        audit.record_widget_change(session, actor, widget, before, _current(widget), action)
    session.commit()
    return widget


# Each provider a widget names, with its write-only settings.
PROVIDER_ROLES = (
    ("provider", "provider_settings"),
    ("secondary_provider", "secondary_provider_settings"),
)


def _unmasked(widget: Widget, values: dict[str, Any]) -> dict[str, Any]:
    """Put stored settings back where a client sent their masked hints, for each provider."""
    for role, settings_key in PROVIDER_ROLES:
        values = _unmasked_settings(widget, values, role, settings_key)
    return values


def _unmasked_settings(
    widget: Widget, values: dict[str, Any], role: str, settings_key: str
) -> dict[str, Any]:
    """Put stored provider settings back where a client sent their masked hint, as long as
    the settings still send credentials where the stored ones went.

    Kazoo clients fetch a document, change a property and POST the whole document back;
    its provider settings are the hints they were shown, which must not become credentials.
    A change of destination (another provider, base URL, host or port) takes no stored
    setting along: the new settings come whole, and a hint in them is refused by name,
    so a stored secret is never sent anywhere it was not meant for.
    """
    stored_provider = getattr(widget, role)
    provider = values.get(role, stored_provider)
    stored = getattr(widget, settings_key) or {}
    if settings_key not in values:
        if provider == stored_provider:
            return values
        # Another provider: the stored settings were the old one's, and go with it.
        return {**values, settings_key: {}}
    sent = values[settings_key]
    if not isinstance(sent, dict):
        return values
    # Only a masked setting can come back as its hint; one shown as it is is just its value.
    hints = {
        name: providers.secret_hint(stored[name])
        for name in providers.masked_settings(stored_provider or "", stored)
    }
    hinted = [name for name, value in sent.items() if name in hints and value == hints[name]]
    restored = {name: stored[name] if name in hinted else value for name, value in sent.items()}
    if stored_provider is not None and providers.destination(
        provider, restored
    ) == providers.destination(stored_provider, stored):
        return {**values, settings_key: restored}
    if hinted:
        raise widgets.WidgetInvalid(
            {f"{settings_key}.{name}": NEW_DESTINATION_HINT for name in sorted(hinted)}
        )
    return values


NEW_DESTINATION_HINT = Reason(
    "is the masked hint of a stored value, which is never sent to a new destination: "
    "the provider, its URL, host or port changed, so send this value itself"
)


def delete_widget(session: Session, widget: Widget, actor: audit.Actor | None = None) -> None:
    if actor is not None:
        audit.record(
            session,
            actor,
            audit.WIDGET_DELETED,
            object_type="widget",
            object_id=widget.id,
            details={"name": widget.name},
        )
    session.delete(widget)
    session.commit()


# History (Kazoo's /history: a view of the widget's callbacks)


class HistoryQueryInvalid(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class HistoryQuery:
    page_size: int = DEFAULT_PAGE_SIZE
    start_key: tuple[datetime, str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    status: str | None = None


@dataclass(frozen=True)
class HistoryPage:
    items: list[dict[str, Any]]
    next_start_key: str | None


def parse_time(value: str) -> datetime:
    """Read ISO 8601 or Unix seconds as an aware UTC datetime."""
    text = value.strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_query(args: Mapping[str, str]) -> HistoryQuery:
    """Check query-string filters; raise HistoryQueryInvalid naming the bad ones."""
    errors: dict[str, str] = {}
    page_size = DEFAULT_PAGE_SIZE
    if "page_size" in args:
        raw = args["page_size"]
        if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE_SIZE:
            page_size = int(raw)
        else:
            errors["page_size"] = f"must be an integer from 1 to {MAX_PAGE_SIZE}"
    start_key = None
    if args.get("start_key"):
        try:
            start_key = _read_start_key(args["start_key"])
        except ValueError:
            errors["start_key"] = "not a start_key from an earlier page"
    times: dict[str, datetime | None] = {}
    for name in ("created_from", "created_to"):
        times[name] = None
        if args.get(name):
            try:
                times[name] = parse_time(args[name])
            except (ValueError, OverflowError, OSError):
                errors[name] = "must be ISO 8601 or Unix seconds"
    status = args.get("status") or None
    if status is not None and status not in {s.value for s in Status}:
        errors["status"] = "must be one of " + ", ".join(s.value for s in Status)
    if errors:
        raise HistoryQueryInvalid(errors)
    return HistoryQuery(page_size, start_key, times["created_from"], times["created_to"], status)


def _start_key(callback: Callback) -> str:
    raw = json.dumps([callback.created_at.isoformat(), callback.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_start_key(value: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        created, callback_id = json.loads(raw)
        if not isinstance(callback_id, str) or not ids.plausible(callback_id):
            raise ValueError("bad callback id")
        return datetime.fromisoformat(created), callback_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValueError("bad start_key") from None


def history(session: Session, widget: Widget, query: HistoryQuery) -> HistoryPage:
    """Return one page of the widget's callbacks, newest first."""
    statement = select(Callback).where(Callback.widget_id == widget.id)
    if query.created_from is not None:
        statement = statement.where(Callback.created_at >= query.created_from)
    if query.created_to is not None:
        statement = statement.where(Callback.created_at <= query.created_to)
    if query.status is not None:
        statement = statement.where(Callback.status == query.status)
    if query.start_key is not None:
        created, callback_id = query.start_key
        statement = statement.where(
            (Callback.created_at < created)
            | ((Callback.created_at == created) & (Callback.id <= callback_id))
        )
    statement = statement.order_by(Callback.created_at.desc(), Callback.id.desc())
    rows = list(session.scalars(statement.limit(query.page_size + 1)))
    following = _start_key(rows[query.page_size]) if len(rows) > query.page_size else None
    return HistoryPage([history_item(cb) for cb in rows[: query.page_size]], following)


def history_item(callback: Callback) -> dict[str, Any]:
    return {
        "id": callback.id,
        "contact": callback.visitor_number,
        "timestamp": callback.created_at.isoformat(),
        "call_id": callback.provider_call_id,
        "status": callback.status,
        "result": callback.status,
        "cause": callback.cause,
        "attempts": callback.attempts,
        "department": callback.department,
        "agent_attempts": agent_attempts(callback),
        # The provider that took the call: the secondary's name after a failover.
        "provider": (callback.provider_details or {}).get("provider"),
    }


def agent_attempts(callback: Callback) -> list[dict[str, Any]]:
    """Return each attempt's agent (masked where a number) and how that attempt ended."""
    found: dict[int, dict[str, Any]] = {}
    for event in callback.events:
        attempt = event.details.get("attempt")
        if not isinstance(attempt, int):
            continue
        if event.status == Status.DIALING and "agent" in event.details:
            shown = {key: event.details[key] for key in AGENT_DETAILS if key in event.details}
            found[attempt] = {"attempt": attempt, **shown, "outcome": None, "cause": None}
        elif attempt in found and _ends_attempt(event.status, event.applied, event.details):
            found[attempt] |= {"outcome": event.status, "cause": event.cause}
    return list(found.values())


def _ends_attempt(status: str, applied: bool, details: Mapping[str, Any]) -> bool:
    # A report that sent the callback on to another agent or round was stored unapplied.
    moved_on = bool(details.get("next_agent") or details.get("retried"))
    return status not in (Status.DIALING, Status.RETRY_WAIT) and (applied or moved_on)


AGENT_DETAILS = ("agent", "agent_label", "leg", "round")
HISTORY_COLUMNS = ("id", "timestamp", "contact", "status", "result", "cause", "attempts", "call_id")


def history_csv(items: list[dict[str, Any]]) -> str:
    """History items as CSV, one row per callback, cells safe for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HISTORY_COLUMNS)
    for item in items:
        writer.writerow([csv_safe(item[column]) for column in HISTORY_COLUMNS])
    return out.getvalue()


class KeyedTokens(Tokens):
    """Tokens for a connect made with an API key: the key stands in for the form token.

    Every other check of `callbacks.submit` (number policy, blocklist, leases, limits) runs
    unchanged; each keyed connect gets a fresh nonce unless an idempotency key is given.
    """

    def read_form_token(self, token: object, widget_id: str, origin: str) -> FormToken:
        return FormToken(widget_id=widget_id, origin=origin, nonce=secrets.token_hex(16), age=0.0)


def csv_safe(value: object) -> str:
    """Keep a cell from being read as a formula by spreadsheets (E.164 numbers pass as is)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "@", "\t", "\r", "-") or (text[:1] == "+" and not text[1:].isdigit()):
        return "'" + text
    return text
