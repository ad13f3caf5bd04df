"""Block lists: numbers, number prefixes and client addresses, with expiry; callee opt-outs."""

from __future__ import annotations

import ipaddress
import threading
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Engine, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ..core.models import BlockedEntry, utcnow
from ..core.revisions import submission_revision

KINDS = ("number", "prefix", "ip", "optout")


def _active() -> ColumnElement[bool]:
    return or_(BlockedEntry.expires_at.is_(None), BlockedEntry.expires_at > bindparam("now"))


# Built once: every submission asks both, and building a statement costs more than the
# query it sends. The (kind, value) unique index serves the number's lookups.
_NUMBER_KINDS = select(BlockedEntry.kind).where(
    _active(),
    or_(
        and_(BlockedEntry.kind.in_(("optout", "number")), BlockedEntry.value == bindparam("e164")),
        and_(
            BlockedEntry.kind == "prefix",
            BlockedEntry.value.in_(bindparam("prefixes", expanding=True)),
        ),
    ),
)
_BLOCKED_NETWORKS = select(BlockedEntry.value, BlockedEntry.expires_at).where(
    BlockedEntry.kind == "ip"
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# By value: the (kind, expiry) of each entry with that value.
NumberEntries = dict[str, tuple[tuple[str, datetime | None], ...]]

# Number, prefix and opt-out entries a process keeps in memory, at most; a longer list is
# asked of the database for each number instead, so memory never grows with the list.
KEEP_AT_MOST = 10_000
NUMBER_KINDS = ("number", "prefix", "optout")
_NUMBER_ENTRIES = (
    select(BlockedEntry.kind, BlockedEntry.value, BlockedEntry.expires_at)
    .where(BlockedEntry.kind.in_(NUMBER_KINDS))
    .limit(bindparam("keep"))
)

Kept = TypeVar("Kept")


class _KeptAtRevision(Generic[Kept]):
    """What `read` makes of the block list, kept per process and database while the
    submission revision stays where it was read; every browser submission asks, and the
    list changes seldom. Expired entries are kept too: expiry is judged at each request."""

    def __init__(self, read: Callable[[Session], Kept]) -> None:
        self._read = read
        self._kept: weakref.WeakKeyDictionary[Engine, tuple[int, Kept]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self, session: Session) -> Kept:
        revision = submission_revision(session)
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        kept = self._kept.get(engine)
        if kept is not None and kept[0] == revision:
            return kept[1]
        value = self._read(session)
        # Labelled with the revision read before the rows: never older than its label.
        with self._lock:
            self._kept[engine] = (revision, value)
        return value


def number_blocked(session: Session, e164: str) -> str | None:
    """Return why a destination may not be called ("blocked" or "opted_out"), else None."""
    # Every kind that can name a number: an exact opt-out or block, or a blocked prefix,
    # which is any leading part of the number ("+2" … the whole of it).
    prefixes = [e164[:end] for end in range(2, len(e164) + 1)]
    kept = _numbers.get(session)
    if kept is None:
        kinds = set(
            session.connection()
            .execute(_NUMBER_KINDS, {"now": utcnow(), "e164": e164, "prefixes": prefixes})
            .scalars()
        )
    else:
        # Expiry is judged now, not when the list was read, as the query would judge it.
        now = utcnow()
        kinds = {
            kind
            for value in prefixes
            for kind, expires in kept.get(value, ())
            if (kind == "prefix" or value == e164) and (expires is None or expires > now)
        }
    # An opt-out is the callee's own wish: it is the reason given when several apply.
    if "optout" in kinds:
        return "opted_out"
    if "number" in kinds:
        return "blocked_number"
    if "prefix" in kinds:
        return "blocked_prefix"
    return None


def address_blocked(session: Session, address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    # Networks are matched here rather than in SQL, which SQLite cannot do. Expiry is
    # judged now, not when the list was read, so a kept list never outlives an entry.
    now = utcnow()
    return any(
        ip in network and (expires is None or expires > now)
        for network, expires in _networks.get(session)
    )


def _read_networks(session: Session) -> tuple[tuple[Network, datetime | None], ...]:
    entries = []
    for value, expires in session.execute(_BLOCKED_NETWORKS):
        try:
            entries.append((ipaddress.ip_network(value, strict=False), expires))
        except ValueError:
            continue
    return tuple(entries)


def _read_numbers(session: Session) -> NumberEntries | None:
    """The number entries by value; None when there are more than KEEP_AT_MOST."""
    rows = session.connection().execute(_NUMBER_ENTRIES, {"keep": KEEP_AT_MOST + 1}).all()
    if len(rows) > KEEP_AT_MOST:
        return None
    entries: NumberEntries = {}
    for kind, value, expires in rows:
        entries[value] = (*entries.get(value, ()), (kind, expires))
    return entries


_networks = _KeptAtRevision(_read_networks)
_numbers = _KeptAtRevision(_read_numbers)


def add(
    session: Session,
    kind: str,
    value: str,
    reason: str | None = None,
    expires_at: datetime | None = None,
) -> BlockedEntry:
    """Add or refresh an entry; raise ValueError when the value does not fit its kind."""
    value = normalise(kind, value)
    entry = session.scalars(
        select(BlockedEntry).where(BlockedEntry.kind == kind, BlockedEntry.value == value)
    ).first()
    if entry is None:
        entry = BlockedEntry(kind=kind, value=value)
        session.add(entry)
    entry.reason, entry.expires_at = reason, expires_at
    return entry


def remove(session: Session, kind: str, value: str) -> bool:
    entry = session.scalars(
        select(BlockedEntry).where(
            BlockedEntry.kind == kind, BlockedEntry.value == normalise(kind, value)
        )
    ).first()
    if entry is not None:
        session.delete(entry)
    return entry is not None


def normalise(kind: str, value: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    value = value.strip()
    if kind == "ip":
        return str(ipaddress.ip_network(value, strict=False))
    digits = value.removeprefix("+")
    if not digits.isdigit() or not 1 <= len(digits) <= 15:
        raise ValueError("numbers and prefixes are E.164 digits, e.g. +2782 or +27821234567")
    return f"+{digits}"
