"""A second factor at sign-in: TOTP codes (RFC 6238) from an app, and one-time recovery codes.

The secret is stored Fernet-encrypted on the user (core/crypto.py) from the moment setup
begins, and counts only once a first code from the app has confirmed it. A code is accepted
within one time step either side of now, and never twice: the step of the last code
accepted is kept, and only a later step is taken. Recovery codes are random, shown once,
and stored only as SHA-256 digests (they carry 80 random bits, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..core.models import Account, Membership, RecoveryCode, User

ISSUER = "widget-server"
STEP_SECONDS = 30  # what every authenticator app assumes
DIGITS = 6
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read off paper
_RECOVERY_GROUPS = 4
_RECOVERY_GROUP_LENGTH = 4  # 16 characters of a 32-letter alphabet: 80 bits
_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")
MAX_ENTRY_LENGTH = 64


class Accepted(StrEnum):
    CODE = "code"
    RECOVERY_CODE = "recovery_code"


def is_on(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def begin_setup(user: User) -> str:
    """Give the user a new secret waiting for its first code; return it (to show once)."""
    if is_on(user):
        raise ValueError("the second factor is on already")
    secret = pyotp.random_base32()  # 32 base32 letters: 160 bits, RFC 4226's recommendation
    user.totp_secret = secret
    user.totp_enabled_at = None
    user.totp_last_step = None
    return secret


def pending_secret(user: User) -> str | None:
    """Return the secret of a setup begun and not yet confirmed, or None."""
    return None if is_on(user) or not user.totp_secret else user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """Write a secret in groups of four, as people type it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, after: int | None, now: datetime) -> int | None:
    """Return the time step (now, or one either side) whose code `code` is, if later than
    `after`; every candidate is compared in constant time."""
    totp = _totp(secret)
    current = totp.timecode(now)
    found = None
    for step in (current - 1, current, current + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code) and (after is None or step > after):
            found = step
    return found


def _digits(entry: str) -> str:
    return re.sub(r"[\s-]", "", entry)


def is_code_shaped(entry: str) -> bool:
    """Say whether `entry` looks like an app's code (6 digits, spaces allowed)."""
    return isinstance(entry, str) and bool(_CODE.fullmatch(_digits(entry[:MAX_ENTRY_LENGTH])))


def confirm_setup(session: Session, user: User, code: str, now: datetime) -> list[str] | None:
    """Turn the second factor on if `code` is the app's current one; return the new
    recovery codes (to show once), or None when the code does not match."""
    secret = pending_secret(user)
    entry = _digits(code or "")
    if secret is None or not _CODE.fullmatch(entry):
        return None
    step = _matching_step(secret, entry, None, now)
    if step is None:
        return None
    user.totp_enabled_at = now
    user.totp_last_step = step
    return new_recovery_codes(session, user, now)


def _normalised_recovery(entry: str) -> str:
    return _digits(entry).lower()


def _recovery_digest(user_id: str, entry: str) -> str:
    # The user id is mixed in: one code's digest says nothing about another user's.
    return hashlib.sha256(f"{user_id}:{_normalised_recovery(entry)}".encode()).hexdigest()


def new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    """Replace the user's recovery codes with fresh ones; return them (to show once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        letters = "".join(
            secrets.choice(_RECOVERY_ALPHABET)
            for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP_LENGTH)
        )
        code = "-".join(
            letters[i : i + _RECOVERY_GROUP_LENGTH]
            for i in range(0, len(letters), _RECOVERY_GROUP_LENGTH)
        )
        codes.append(code)
        session.add(
            RecoveryCode(
                code_digest=_recovery_digest(user.id, code), user_id=user.id, created_at=now
            )
        )
    session.flush()
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.code_digest).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def verify(session: Session, user: User, entry: str, now: datetime) -> Accepted | None:
    """Accept a code from the app or an unused recovery code, spending it; else None.

    Spending is one conditional UPDATE, so two requests racing with the same code cannot
    both succeed.
    """
    if not is_on(user) or not isinstance(entry, str) or len(entry) > MAX_ENTRY_LENGTH:
        return None
    digits = _digits(entry)
    if _CODE.fullmatch(digits):
        assert user.totp_secret is not None
        step = _matching_step(user.totp_secret, digits, user.totp_last_step, now)
        if step is None:
            return None
        claimed = session.execute(
            update(User)
            .where(
                User.id == user.id,
                (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        session.refresh(user)
        return Accepted.CODE
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.code_digest == _recovery_digest(user.id, entry),
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return Accepted.RECOVERY_CODE if spent.rowcount == 1 else None  # type: ignore[attr-defined]


def turn_off(session: Session, user: User) -> None:
    """Forget the secret and every recovery code (the user may set it up again)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


def required_in(session: Session, account_id: str) -> bool:
    account = session.get(Account, account_id)
    return bool(account and account.require_second_factor)


def set_required(session: Session, account_id: str, required: bool) -> None:
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(account_id)
    account.require_second_factor = required
    session.flush()


def members_with_it_on(session: Session, account_id: str) -> set[str]:
    """Return the ids of the account's members whose second factor is on."""
    return set(
        session.scalars(
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.account_id == account_id, User.totp_enabled_at.is_not(None))
        )
    )
