"""The dashboard's people: users, their roles in accounts, passwords (argon2id)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.models import Account, Membership, User, utcnow
from .sessions import end_sessions

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this bounds the work one request costs
MAX_EMAIL_LENGTH = 254

# argon2-cffi's defaults are RFC 9106's second recommendation for argon2id; a hash made with
# other parameters is replaced at the next sign-in.
hasher = PasswordHasher()
# Verified against when no user has the email, so an unknown email costs the same time.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"
    OWNER = "owner"

    def at_least(self, minimum: Role) -> bool:
        """Say whether this role may do what `minimum` may."""
        return _RANK[self] >= _RANK[Role(minimum)]


_RANK = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}

ROLE_LABELS = {Role.VIEWER: _l("Viewer"), Role.ADMIN: _l("Admin"), Role.OWNER: _l("Owner")}


class PeopleError(ValueError):
    """A change to people refused, with the field it concerns and a shown reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_email(value: object) -> str | None:
    """Return the email lower-cased and trimmed, or None when it cannot be an address."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(email) > MAX_EMAIL_LENGTH
        or any(c.isspace() or ord(c) < 32 for c in email)
    ):
        return None
    return email


def password_problem(password: str, email: str) -> str | None:
    """Say what is wrong with a new password, or None when it may be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return str(_l("Use at least %(count)s characters.", count=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        return str(_l("Use at most %(count)s characters.", count=MAX_PASSWORD_LENGTH))
    if password.strip().lower() == email.lower() or password.lower() == email.partition("@")[0]:
        return str(_l("The password must not be your email address."))
    return None


def generated_password() -> str:
    """Make a password for an operator to hand on: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)


def set_password(user: User, password: str) -> None:
    problem = password_problem(password, user.email)
    if problem:
        raise PeopleError("password", problem)
    user.password_hash = hasher.hash(password)
    user.password_changed_at = utcnow()


def find_user(session: Session, email: str) -> User | None:
    normalised = normalise_email(email)
    if normalised is None:
        return None
    return session.scalars(select(User).where(User.email == normalised)).first()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the user whose email and password these are, or None.

    An unknown email and a wrong password take the same time: both verify one hash.
    """
    user = find_user(session, email) if len(password) <= MAX_PASSWORD_LENGTH else None
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def create_user(session: Session, email: str, password: str) -> User:
    normalised = normalise_email(email)
    if normalised is None:
        raise PeopleError("email", str(_l("Enter an email address such as name@example.com.")))
    if find_user(session, normalised) is not None:
        raise PeopleError("email", str(_l("A user with this email exists already.")))
    user = User(email=normalised, password_hash="")
    set_password(user, password)
    session.add(user)
    session.flush()
    return user


def add_member(session: Session, user: User, account_id: str, role: Role) -> Membership:
    membership = session.get(Membership, (user.id, account_id))
    if membership is None:
        membership = Membership(user_id=user.id, account_id=account_id, role=Role(role).value)
        session.add(membership)
    else:
        membership.role = Role(role).value
    session.flush()
    return membership


def first_membership(session: Session, user: User) -> Membership | None:
    """Return the membership a fresh sign-in opens: the user's oldest."""
    return session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at, Membership.account_id)
    ).first()


def accounts_of(session: Session, user_id: str) -> list[tuple[str, str]]:
    """Return the (id, name) of every account the user is a member of, by name."""
    rows = session.execute(
        select(Account.id, Account.name)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user_id)
        .order_by(Account.name, Account.id)
    )
    return [(account_id, name) for account_id, name in rows]


@dataclass(frozen=True)
class MemberView:
    user_id: str
    email: str
    role: Role
    joined_at: object


def members(session: Session, account_id: str) -> list[MemberView]:
    rows = session.execute(
        select(User.id, User.email, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.account_id == account_id)
        .order_by(User.email)
    )
    return [MemberView(uid, email, Role(role), joined) for uid, email, role, joined in rows]


def owner_count(session: Session, account_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.account_id == account_id, Membership.role == Role.OWNER.value)
        )
        or 0
    )


def change_role(session: Session, account_id: str, user_id: str, role: Role) -> Membership:
    """Change a member's role; the account's last owner keeps theirs."""
    membership = session.get(Membership, (user_id, account_id))
    if membership is None:
        raise LookupError(user_id)
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and owner_count(session, account_id) <= 1
    ):
        raise PeopleError(
            "role", str(_l("An account needs an owner: make someone else owner first."))
        )
    membership.role = Role(role).value
    session.flush()
    return membership


def remove_member(session: Session, account_id: str, user_id: str) -> None:
    """Remove a member (and their sessions in this account); never the last owner."""
    membership = session.get(Membership, (user_id, account_id))
    if membership is None:
        raise LookupError(user_id)
    if membership.role == Role.OWNER and owner_count(session, account_id) <= 1:
        raise PeopleError(
            "member", str(_l("An account needs an owner: make someone else owner first."))
        )
    session.delete(membership)
    end_sessions(session, user_id, account_id=account_id)
    session.flush()


def account_name(session: Session, account_id: str) -> str:
    account = session.get(Account, account_id)
    return account.name if account else ""
