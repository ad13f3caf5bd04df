"""A callee's opt-out: asked for by number, proved by a code texted to that number.

Anyone can type any number, so an opt-out takes effect only once the code sent to the
number comes back: nobody can silence a number they do not hold. Every request gets the
same answer whatever the number's state (known, opted out, blocked), so the endpoint
tells nothing about a number, and its limits keep it from texting a number over and over.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import phonenumbers
from flask_babel import force_locale, gettext
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..calls import blocklist
from ..core.errors import BadRequest
from ..core.i18n import N_, supported
from ..core.models import OptOutRequest
from ..core.numbers import mask

log = logging.getLogger(__name__)

CODE_DIGITS = 6
REQUEST_ID = re.compile(r"[0-9a-f]{32}")  # what models.new_id makes
ASK_INTERNATIONAL = N_("Enter the number in international form, e.g. +27 82 123 4567.")
NOT_A_NUMBER = N_("That is not a phone number.")
CODE_TEXT = N_("%(code)s is your code to stop calls to this number.")
WRONG_CODE = N_("That code is wrong or has expired. Ask for a new one.")


class TextSender(Protocol):
    def send(self, to: str, body: str) -> str: ...


def parse_number(raw: object) -> str:
    """Read a number given in international form as E.164; raise BadRequest naming `phone`."""
    if not isinstance(raw, str) or not 0 < len(raw) <= 40:
        raise BadRequest(fields={"phone": gettext(ASK_INTERNATIONAL)})
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise BadRequest(fields={"phone": gettext(ASK_INTERNATIONAL)}) from None
    if not phonenumbers.is_possible_number(number):
        raise BadRequest(fields={"phone": gettext(NOT_A_NUMBER)})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def code_key(config: Mapping[str, Any]) -> bytes:
    """The HMAC key for code digests, derived from SECRET_KEY for this purpose only."""
    return hashlib.sha256(
        b"widget-server.optout-code.v1:" + str(config["SECRET_KEY"]).encode()
    ).digest()


def _digest(key: bytes, request_id: str, code: str) -> str:
    return hmac.new(key, f"{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _pending(session: Session, request_id: object) -> OptOutRequest | None:
    # Only the shape this module hands out is looked up: nothing else reaches the database.
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        return None
    return session.get(OptOutRequest, request_id)


def request_code(
    session: Session, e164: str, *, now: datetime, lifetime: int, locale: str
) -> OptOutRequest:
    """Store a request for `e164`; its code is made and texted by the worker (send_code)."""
    request = OptOutRequest(
        visitor_number=e164,
        locale=supported(locale) or "en",
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    session.add(request)
    return request


def send_code(
    session: Session, request_id: object, *, now: datetime, key: bytes, sender: TextSender
) -> bool:
    """Make a fresh code for the request, keep its digest, and text it; False if it is gone.

    The digest is committed before the text goes out, so a code that arrives always
    works; a retried job makes a new code and the earlier one stops working.
    """
    request = _pending(session, request_id)
    if request is None or request.expires_at <= now:
        return False
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    request.code_digest = _digest(key, request.id, code)
    number, locale = request.visitor_number, request.locale
    session.commit()
    with force_locale(locale):
        body = gettext(CODE_TEXT, code=code)
    sender.send(number, body)
    log.info("opt-out code sent to %s", mask(number))
    return True


def confirm(
    session: Session,
    request_id: object,
    code: object,
    *,
    now: datetime,
    key: bytes,
    max_attempts: int,
) -> bool:
    """Record the opt-out if `code` is the one texted for the request; count every try."""
    request = _pending(session, request_id)
    if (
        request is None
        or request.code_digest is None
        or request.expires_at <= now
        or request.attempts >= max_attempts
        or not isinstance(code, str)
    ):
        return False
    request.attempts += 1
    given = "".join(code.split())[:16]
    readable = given.isascii() and given.isdigit()  # anything else is simply a wrong code
    if not readable or not hmac.compare_digest(
        request.code_digest, _digest(key, request.id, given)
    ):
        session.commit()
        return False
    blocklist.add(
        session, "optout", request.visitor_number, reason="callee opt-out, code confirmed"
    )
    session.delete(request)  # the number is not kept beyond its use
    session.commit()
    log.info("opt-out confirmed for %s", mask(request.visitor_number))
    return True


def purge_expired(session: Session, now: datetime) -> int:
    """Delete requests past their expiry, with the numbers they held."""
    result = session.execute(delete(OptOutRequest).where(OptOutRequest.expires_at <= now))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
