"""The audit log: who did what to an account, when and from which address.

An entry is added to the database transaction of the action it records, so the action's
commit writes both and its rollback neither. Views pass the actor in (the signed-in member
or the API key, and the client address as the rate limits see it); nothing here reads a
request.
Entries are only ever added, and purged past AUDIT_RETENTION_DAYS (retention.py): no code
changes one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import AuditEntry, Membership, User
from . import people

log = logging.getLogger(__name__)

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
WIDGET_CREATED = "widget_created"
WIDGET_CHANGED = "widget_changed"
WIDGET_DELETED = "widget_deleted"
PROVIDER_SETTINGS_REPLACED = "provider_settings_replaced"
KEY_CREATED = "key_created"
KEY_REVOKED = "key_revoked"
MEMBER_INVITED = "member_invited"
MEMBER_REMOVED = "member_removed"
ROLE_CHANGED = "role_changed"
CALLBACKS_EXPORTED = "callbacks_exported"
CALLBACK_CALLED_BACK = "callback_called_back"
CALLBACK_CANCELED = "callback_canceled"
CALLBACK_HANDLED = "callback_handled"
CALLBACK_UNHANDLED = "callback_unhandled"
NOTE_ADDED = "note_added"
WEBHOOK_CHANGED = "webhook_changed"
WEBHOOK_CLEARED = "webhook_cleared"
WEBHOOK_TEST_SENT = "webhook_test_sent"
AUDIT_EXPORTED = "audit_exported"
NUMBER_ERASED = "number_erased"
SECOND_FACTOR_ON = "second_factor_on"
SECOND_FACTOR_OFF = "second_factor_off"
RECOVERY_CODES_RENEWED = "recovery_codes_renewed"
SECOND_FACTOR_REQUIREMENT = "second_factor_requirement"

ACTIONS = (
    SIGN_IN,
    SIGN_IN_FAILED,
    WIDGET_CREATED,
    WIDGET_CHANGED,
    WIDGET_DELETED,
    PROVIDER_SETTINGS_REPLACED,
    KEY_CREATED,
    KEY_REVOKED,
    MEMBER_INVITED,
    MEMBER_REMOVED,
    ROLE_CHANGED,
    CALLBACKS_EXPORTED,
    CALLBACK_CALLED_BACK,
    CALLBACK_CANCELED,
    CALLBACK_HANDLED,
    CALLBACK_UNHANDLED,
    NOTE_ADDED,
    WEBHOOK_CHANGED,
    WEBHOOK_CLEARED,
    WEBHOOK_TEST_SENT,
    AUDIT_EXPORTED,
    NUMBER_ERASED,
    SECOND_FACTOR_ON,
    SECOND_FACTOR_OFF,
    RECOVERY_CODES_RENEWED,
    SECOND_FACTOR_REQUIREMENT,
)

# Each provider a widget names, with the settings that hold its credentials.
SETTINGS_OF = {"provider_settings": "provider", "secondary_provider_settings": "secondary_provider"}


@dataclass(frozen=True)
class Actor:
    """Who acts on which account, from which address."""

    account_id: str
    name: str  # the member's email at the time, or "API key wsk_…"
    address: str | None
    user_id: str | None = None
    api_key_id: str | None = None


def member_actor(account_id: str, user_id: str, email: str, address: str | None) -> Actor:
    return Actor(account_id, email, address, user_id=user_id)


def key_actor(account_id: str, key_id: str, public_part: str, address: str | None) -> Actor:
    """Name an API key by its public part only (keys.visible_part): never its secret."""
    return Actor(account_id, f"API key {public_part}", address, api_key_id=key_id)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to `session`: it is written by the commit of the action it records."""
    entry = AuditEntry(
        account_id=actor.account_id,
        action=action,
        actor=actor.name[:320],
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        address=(actor.address or None) and actor.address[:64],
        object_type=object_type,
        object_id=object_id,
        details=dict(details or {}),
    )
    session.add(entry)
    return entry


def signed_in(session: Session, user_id: str, account_id: str, address: str | None) -> None:
    """Record a sign-in to the account; written by the commit that starts its session."""
    user = session.get(User, user_id)
    email = user.email if user is not None else ""
    record(session, member_actor(account_id, user_id, email, address), SIGN_IN)


def sign_in_failed(
    session: Session, email: str, address: str | None, step: str = "password"
) -> int:
    """Record a refused sign-in, in its own commit; return how many entries were written.

    An email of a user is recorded in the log of each account that user belongs to: those
    owners are the ones who must learn that someone is trying their member's password. An
    email no user has belongs to no account, so it is recorded against none (kept for the
    operator, purged like the rest) and without the email, which could be anyone's typo or
    someone else's address. The password or code typed is never passed here; `step` says
    which one was wrong ("password" or "second_factor").
    """
    user = people.find_user(session, email)
    accounts = _accounts_of(session, user) if user is not None else []
    if user is None or not accounts:
        session.add(
            AuditEntry(
                account_id=None,
                action=SIGN_IN_FAILED,
                actor="",
                address=address,
                details={"step": step},
            )
        )
    else:
        for account_id in accounts:
            actor = member_actor(account_id, user.id, user.email, address)
            record(session, actor, SIGN_IN_FAILED, details={"step": step})
    session.commit()
    return max(1, len(accounts))


def _accounts_of(session: Session, user: User) -> list[str]:
    query = select(Membership.account_id).where(Membership.user_id == user.id)
    return list(session.scalars(query))


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Name the properties whose value differs, in a stable order.

    An empty value is the same as none: a form that sends "" for a property never set has
    not changed it.
    """
    return sorted(name for name in after if _value(before.get(name)) != _value(after[name]))


def _value(value: Any) -> Any:
    return None if value in (None, "", {}, []) else value


def changed_settings(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[str]:
    """Name the provider settings added, removed or changed: names only, never a value."""
    old, new = dict(before or {}), dict(after or {})
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def record_widget_change(
    session: Session,
    actor: Actor,
    widget: Any,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    action: str = WIDGET_CHANGED,
) -> None:
    """Record what a save changed; provider settings get their own entry, by name only."""
    fields = changed_fields(before, after)
    if not fields:
        return  # saved as it was: nothing happened worth an entry
    record(
        session,
        actor,
        action,
        object_type="widget",
        object_id=widget.id,
        details={"fields": fields},
    )
    for settings_key, role in SETTINGS_OF.items():
        if settings_key in fields:
            names = changed_settings(before.get(settings_key), after.get(settings_key))
            details = {"provider": after.get(role, before.get(role)), "settings": names}
            if role != "provider":
                details["role"] = role
            record(
                session,
                actor,
                PROVIDER_SETTINGS_REPLACED,
                object_type="widget",
                object_id=widget.id,
                details=details,
            )
