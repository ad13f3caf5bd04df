"""Invitations to join an account: a single-use, expiring link; only its digest is kept."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..core.models import Invitation, User
from . import people
from .people import PeopleError, Role
from .sessions import digest

MAX_TOKEN_LENGTH = 128


def invite(
    session: Session,
    account_id: str,
    email: str,
    role: Role,
    invited_by: str | None,
    now: datetime,
    valid_for: timedelta,
) -> str:
    """Store an invitation and return its token (for the link; never stored as such)."""
    normalised = people.normalise_email(email)
    if normalised is None:
        raise PeopleError("email", str(_l("Enter an email address such as name@example.com.")))
    existing = people.find_user(session, normalised)
    if existing is not None and any(m.account_id == account_id for m in existing.memberships):
        raise PeopleError("email", str(_l("This person is a member already.")))
    # A new invitation to the same address replaces the earlier ones; expired ones go.
    session.execute(
        delete(Invitation).where(
            (
                (Invitation.account_id == account_id)
                & (Invitation.email == normalised)
                & Invitation.accepted_at.is_(None)
            )
            | (Invitation.expires_at <= now)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            token_digest=digest(token),
            account_id=account_id,
            email=normalised,
            role=Role(role).value,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    session.flush()
    return token


def pending(session: Session, token: str, now: datetime) -> Invitation | None:
    """Return the invitation a link's token names while it can still be accepted."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    invitation = session.get(Invitation, digest(token))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        return None
    return invitation


def open_invitations(session: Session, account_id: str, now: datetime) -> list[Invitation]:
    return list(
        session.scalars(
            select(Invitation)
            .where(
                Invitation.account_id == account_id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at)
        )
    )


def accept(session: Session, invitation: Invitation, password: str, now: datetime) -> User:
    """Join the invited account: a new user sets a password, a known one proves theirs.

    Marking the invitation accepted first (with a guarded UPDATE) makes the link single-use
    even when two browsers submit it at once.
    """
    user = people.find_user(session, invitation.email)
    if user is not None:
        if people.authenticate(session, invitation.email, password) is None:
            raise PeopleError("password", str(_l("Enter the password of your existing user.")))
    else:
        user = people.create_user(session, invitation.email, password)
    claimed = session.execute(
        update(Invitation)
        .where(
            Invitation.token_digest == invitation.token_digest,
            Invitation.accepted_at.is_(None),
        )
        .values(accepted_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PeopleError("token", str(_l("This invitation has been used already.")))
    people.add_member(session, user, invitation.account_id, Role(invitation.role))
    return user
