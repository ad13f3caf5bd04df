"""The stored records: accounts, widgets (Kazoo's clicktocall), callbacks and their events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .crypto import EncryptedJSON


def new_id() -> str:
    """Make a 32-hex-digit id, the shape Kazoo uses for documents."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite drops the offset on the way in)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an owner: every member signs in with a second factor, or sets one up first.
    require_second_factor: Mapped[bool] = mapped_column(Boolean, default=False)

    widgets: Mapped[list[Widget]] = relationship(back_populates="account")


class Widget(Base):
    __tablename__ = "widgets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # Kazoo clicktocall properties.
    name: Mapped[str] = mapped_column(String(128))
    extension: Mapped[str] = mapped_column(String(255))  # the first agent's, for Kazoo clients
    realm: Mapped[str | None] = mapped_column(String(255))
    auth_required: Mapped[bool] = mapped_column(Boolean, default=True)
    whitelist: Mapped[list[str]] = mapped_column(default=list)
    throttle: Mapped[int] = mapped_column(Integer, default=0)  # 0: no limit, as in Kazoo
    caller_id_number: Mapped[str | None] = mapped_column(String(64))
    outbound_callee_id_name: Mapped[str | None] = mapped_column(String(128))
    outbound_callee_id_number: Mapped[str | None] = mapped_column(String(64))
    # This product's properties.
    provider: Mapped[str] = mapped_column(String(32), default="simulator")
    # Encrypted at rest (crypto.EncryptedJSON); read and written as a plain dict.
    provider_settings: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    # Failover: an attempt the primary refused for a retryable reason before accepting it.
    secondary_provider: Mapped[str | None] = mapped_column(String(32))
    secondary_provider_settings: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    # Who books a scheduled callback: "auto" (the provider when it can), "provider", "server".
    scheduling: Mapped[str] = mapped_column(String(16), default="auto")
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    allowed_regions: Mapped[list[str]] = mapped_column(default=list)  # empty: default_region
    allowed_number_types: Mapped[list[str]] = mapped_column(default=list)  # empty: policy default
    allowed_origins: Mapped[list[str]] = mapped_column(default=list)
    timeout: Mapped[int] = mapped_column(Integer, default=20)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    retry_delay: Mapped[int] = mapped_column(Integer, default=60)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    theme: Mapped[dict[str, Any]] = mapped_column(default=dict)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    require_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Abuse controls: rate limits that override the server's defaults, and a human check.
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Its secret key is write-only, so the whole setting is encrypted at rest; rows written
    # before that hold a plain dict, which EncryptedJSON still reads.
    human_check: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    # Per-widget "closed" switch: no calls now, whatever the business hours say.
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where and when the button shows on the host page (paths, delay, outside hours).
    display_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Outbound webhooks to the site owner's CRM; the signing secret is encrypted at rest.
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedJSON)
    notify_emails: Mapped[list[str]] = mapped_column(default=list)
    # Who is rung, in which order, and what they hear (calls.routing reads them).
    agents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    strategy: Mapped[str] = mapped_column(String(16), default="ordered")
    departments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    whisper: Mapped[bool | None] = mapped_column(Boolean)  # None: on where the provider can
    machine_detection: Mapped[bool | None] = mapped_column(Boolean)  # likewise
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship(back_populates="widgets")

    @property
    def regions(self) -> list[str]:
        """Return the regions a visitor may be called in."""
        return list(self.allowed_regions) or [self.default_region]


class Callback(Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_widget_created", "widget_id", "created_at"),
        Index("ix_callbacks_widget_status", "widget_id", "status"),
        Index("ix_callbacks_status_updated", "status", "updated_at"),
        # The owners' inbox pages through callbacks newest first on (created_at, id).
        Index("ix_callbacks_created_id", "created_at", "id"),
        # ... and polls for what changed since its last look.
        Index("ix_callbacks_updated", "updated_at"),
        # A repeated submission (double click, client retry) finds the first callback.
        UniqueConstraint("widget_id", "idempotency_key", name="uq_callbacks_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    widget_id: Mapped[str] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    visitor_number: Mapped[str] = mapped_column(String(20))  # E.164
    visitor_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    cause: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_call_id: Mapped[str | None] = mapped_column(String(255))
    provider_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    page_url: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # A callback booked for later (outside business hours); None means "as soon as possible".
    scheduled_for: Mapped[datetime | None] = mapped_column(index=True)
    utm: Mapped[dict[str, Any]] = mapped_column(default=dict)  # utm_* captured from the page
    # Retention erases visitor_number; the SHA-256 stays for per-number limits and lookups.
    number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    erased_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    originated_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # Routing: the department the visitor picked, the agents of the current round in the
    # order they are tried (indexes into the widget's or department's agents; empty: the
    # next dial starts a new round), the position of the agent being tried, and how many
    # rounds have started (retries count rounds; every agent leg is its own attempt).
    department: Mapped[str | None] = mapped_column(String(32))
    agent_order: Mapped[list[int]] = mapped_column(JSON, default=list)
    agent_leg: Mapped[int] = mapped_column(Integer, default=0)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    # An owner's "handled" mark: who (their email when they marked it) and when.
    handled_at: Mapped[datetime | None] = mapped_column()
    handled_by: Mapped[str | None] = mapped_column(String(255))

    widget: Mapped[Widget] = relationship()
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="callback", order_by="CallEvent.id", cascade="all, delete-orphan"
    )


class CallEvent(Base):
    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callback_id: Mapped[str] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # provider name, or "server"
    provider_call_id: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    applied: Mapped[bool] = mapped_column(Boolean, default=True)  # False: stale or duplicate
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)

    callback: Mapped[Callback] = relationship(back_populates="events")


class AgentRotation(Base):
    """Where round-robin routing starts next, per widget and department, shared by every
    worker process: each callback takes a turn under the row's lock."""

    __tablename__ = "agent_rotations"

    widget_id: Mapped[str] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), primary_key=True
    )
    department: Mapped[str] = mapped_column(String(32), primary_key=True)  # "": the widget's
    turns: Mapped[int] = mapped_column(Integer, default=0)


class CallbackNote(Base):
    """A note a member of the account wrote on a callback, shown in its timeline.

    The author's email is kept as it was when they wrote it, so the note still says who
    wrote it after they leave the account.
    """

    __tablename__ = "callback_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    callback_id: Mapped[str] = mapped_column(
        ForeignKey("callbacks.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[str] = mapped_column(String(32))
    author_email: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsedFormToken(Base):
    """A form token's nonce, stored once: the primary key makes each token single-use."""

    __tablename__ = "used_form_tokens"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Lease(Base):
    """A slot held by a callback in progress: a widget's throttle slot or a destination.

    The primary key makes taking a slot atomic across processes; `expires_at` frees it when
    a provider never reports the end of a call.
    """

    __tablename__ = "leases"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime] = mapped_column()


class BlockedEntry(Base):
    """A number, number prefix or client address that may not use the service."""

    __tablename__ = "blocked_entries"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_blocked_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # number | prefix | ip | optout
    value: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeCounter(Base):
    """A counter that database triggers move on every change to the tables it watches.

    "submission" moves with every change to widgets and block-list entries: a process
    keeps what a submission reads from them for as long as the counter stands still.
    """

    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ApiKey(Base):
    """An account's admin API key; only its SHA-256 is stored, the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    lookup: Mapped[str] = mapped_column(String(16), unique=True)  # visible part of the key
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    account: Mapped[Account] = relationship()


class WebhookDelivery(Base):
    """One outbound webhook event to a site owner, with its delivery attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_widget_created", "widget_id", "created_at"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    widget_id: Mapped[str] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    callback_id: Mapped[str | None] = mapped_column(ForeignKey("callbacks.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()


class ConsumedChallenge(Base):
    """A human-check solution already used (ALTCHA challenge, captcha token): once only."""

    __tablename__ = "consumed_challenges"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex
    kind: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OptOutRequest(Base):
    """A callee's request to stop calls, waiting for the code texted to the number.

    Only a digest of the code is kept; the number is needed to send it and is erased
    (the row deleted) once the request is confirmed or has expired.
    """

    __tablename__ = "optout_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    visitor_number: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8))  # the language the code is texted in
    code_digest: Mapped[str | None] = mapped_column(String(64))  # set once the code is sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OriginSighting(Base):
    """Where a widget was last seen loading: one row per widget and host page origin.

    Written by the loader's config request at most once per few minutes per origin, and
    capped per widget for refused origins, so visitors (or a bot) cannot grow it at will.
    """

    __tablename__ = "origin_sightings"
    __table_args__ = (
        UniqueConstraint("widget_id", "origin", name="uq_origin_sightings_widget_origin"),
        Index("ix_origin_sightings_widget_seen", "widget_id", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    widget_id: Mapped[str] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(255))  # normalised (core/origins.py)
    allowed: Mapped[bool] = mapped_column(Boolean)  # the answer the last recorded load got
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who signs in to the dashboard; only an argon2id hash of the password is kept."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The TOTP secret (RFC 6238), Fernet-encrypted; set at setup, in use once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedJSON)
    totp_enabled_at: Mapped[datetime | None] = mapped_column()
    # The time step of the last code accepted: a code (or an older one) never works twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Membership(Base):
    """A user's role in one account."""

    __tablename__ = "memberships"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # people.Role
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    account: Mapped[Account] = relationship()


class DashboardSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored, so a
    copy of the table signs no one in, and deleting a row signs that browser out."""

    __tablename__ = "dashboard_sessions"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordReset(Base):
    """An emailed password reset link: single-use and expiring; only its digest is kept."""

    __tablename__ = "password_resets"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column()


class Invitation(Base):
    """An invitation to join an account with a role: single-use and expiring, digest only."""

    __tablename__ = "invitations"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    accepted_at: Mapped[datetime | None] = mapped_column()


class AuditEntry(Base):
    """One action of an owner, a member or an API key on an account, written with it.

    No foreign key to the user or key: the entry keeps who acted, as they were named then,
    after the person leaves or the key goes. `account_id` is empty for a failed sign-in
    with an email no user has, which belongs to no account's log.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_account_id_id", "account_id", "id"),
        Index("ix_audit_entries_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))  # the email then, or "API key wsk_…"
    user_id: Mapped[str | None] = mapped_column(String(32))
    api_key_id: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(16))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AnalyticsDay(Base):
    """One count of a widget's funnel for one day of the widget's time zone.

    `step` is a funnel step (shown, opened, accepted, refused, connected, ...); `dimension`
    is "" for the step's total, or what `value` breaks it down by (a page path, a UTM
    source, a refusal reason, an hour of the week, seconds to connect). The analytics page
    reads only these rows and their monthly sums (`AnalyticsMonth`), so its cost follows
    the days shown, not the events stored.
    """

    __tablename__ = "analytics_days"
    # On SQLite the rows live in the primary key's own b-tree: a range of days reads its
    # counts in key order, without a lookup per row. The index holds the day-by-day totals
    # (dimension "") apart, count included, so the daily chart never reads the breakdowns.
    __table_args__ = (
        Index("ix_analytics_days_totals", "widget_id", "dimension", "day", "step", "count"),
        {"sqlite_with_rowid": False},
    )

    widget_id: Mapped[str] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsMonth(Base):
    """The sum of a widget's `AnalyticsDay` rows over one calendar month of its days.

    `month` is the month's first day. Every upsert that adds to a daily row adds the same
    count here in the same transaction, so a whole month reads as one row per value instead
    of one per day and value, and the sums are exactly those of the days.
    """

    __tablename__ = "analytics_months"
    __table_args__ = {"sqlite_with_rowid": False}

    widget_id: Mapped[str] = mapped_column(
        ForeignKey("widgets.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsWatermark(Base):
    """How far a rollup has read an append-only table (the last call event id counted)."""

    __tablename__ = "analytics_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
