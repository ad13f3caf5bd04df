"""Admin API for what the site owner is told and keeps: webhook tests, delivery log, erasure.

Same keys and Kazoo envelopes as `admin_api`; these routes sit beside the clicktocall
resource and at the account level (erase).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ..core import db
from ..core.numbers import mask
from ..notify import webhooks
from ..owners import audit, retention
from .actors import key_actor
from .admin_api import (
    KazooInvalid,
    _authenticated,
    _data,
    _widget,
    admin_limit_per_ip,
    envelope,
    kazoo_error,
)
from .limits import limiter

log = logging.getLogger(__name__)

bp = Blueprint("owner_api", __name__, url_prefix="/v1/accounts/<account_id>")
bp.register_error_handler(HTTPException, kazoo_error)
# The same per-IP allowance as the clicktocall routes: wrong keys count too.
limiter.limit(admin_limit_per_ip)(bp)

MAX_DELIVERIES = 500


@bp.route("/clicktocall/<widget_id>/webhook/test", methods=["POST"])
def webhook_test(account_id: str, widget_id: str) -> ResponseReturnValue:
    key = _authenticated(account_id)
    widget = _widget(account_id, widget_id)
    if not widget.webhook_url or not widget.webhook_secret:
        raise KazooInvalid(fields={"webhook_url": "is not set: save webhook_url first"})
    # Written by the commit that logs the test delivery, before the event is sent.
    audit.record(
        db.session(),
        key_actor(key),
        audit.WEBHOOK_TEST_SENT,
        object_type="widget",
        object_id=widget.id,
    )
    delivery = webhooks.send_test(db.session(), widget, current_app.config)
    return envelope(webhooks.describe(delivery))


@bp.route("/clicktocall/<widget_id>/webhook/deliveries", methods=["GET"])
def webhook_deliveries(account_id: str, widget_id: str) -> ResponseReturnValue:
    _authenticated(account_id)
    widget = _widget(account_id, widget_id)
    errors: dict[str, str] = {}
    raw_size = request.args.get("page_size", "50")
    if not (raw_size.isdigit() and 1 <= int(raw_size) <= MAX_DELIVERIES):
        errors["page_size"] = f"must be an integer from 1 to {MAX_DELIVERIES}"
    status = request.args.get("status") or None
    if status is not None and status not in webhooks.DELIVERY_STATUSES:
        errors["status"] = "must be one of " + ", ".join(webhooks.DELIVERY_STATUSES)
    if errors:
        raise KazooInvalid(fields=errors)
    found = webhooks.deliveries(db.session(), widget, limit=int(raw_size), status=status)
    return envelope([webhooks.describe(delivery) for delivery in found])


@bp.route("/erase", methods=["POST"])
def erase(account_id: str) -> ResponseReturnValue:
    key = _authenticated(account_id)
    data: dict[str, Any] = _data()
    errors = {key: "unknown property" for key in data if key != "number"}
    e164 = retention.e164_or_none(data.get("number"))
    if e164 is None:
        errors["number"] = "must be an international number such as +12015550123"
    if errors or e164 is None:
        raise KazooInvalid(fields=errors)
    erased = retention.erase_number(db.session(), account_id, e164, key_actor(key))
    log.info("erase request account=%s number=%s", account_id, mask(e164))
    return envelope({"number": mask(e164), "erased": erased.as_dict()})
