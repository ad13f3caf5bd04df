"""Flask's signed session cookie, with its signer built once per set of keys."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionCookie(SecureCookieSessionInterface):
    """Flask builds a new signer for every request, cookie or not; this keeps it per key set.

    Every public request opens the session, and most carry no cookie at all: building the
    signer was a cost of each refusal. A changed SECRET_KEY or fallback list gets a new one.
    """

    def __init__(self) -> None:
        self._signers: dict[tuple[object, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        try:
            return self._signers[keys]
        except KeyError:
            signer = self._signers[keys] = super().get_signing_serializer(app)
            return signer
