"""The callee's "don't call me again": a page and a JSON endpoint, same answer either way."""

from __future__ import annotations

import logging

import phonenumbers
from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from ..calls import blocklist
from ..core import db
from ..core.errors import BadRequest, Forbidden, UnsupportedMediaType
from ..core.i18n import N_
from ..core.numbers import mask
from . import json_body
from .limits import limiter, submit_limit_per_ip
from .request_origin import own_origin, request_origin

bp = Blueprint("optout", __name__)
log = logging.getLogger(__name__)

ASK_INTERNATIONAL = N_("Enter the number in international form, e.g. +27 82 123 4567.")
DONE = N_("This number will not be called by this service again.")


def _opt_out(raw: object) -> None:
    """Record an opt-out for a well-formed number; say nothing about whether it was known."""
    if not isinstance(raw, str) or not 0 < len(raw) <= 40:
        raise BadRequest(fields={"phone": gettext(ASK_INTERNATIONAL)})
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise BadRequest(fields={"phone": gettext(ASK_INTERNATIONAL)}) from None
    if not phonenumbers.is_possible_number(number):
        raise BadRequest(fields={"phone": gettext("That is not a phone number.")})
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    session = db.session()
    blocklist.add(session, "optout", e164, reason="callee opt-out")
    session.commit()
    log.info("opt-out recorded number=%s", mask(e164))


@bp.route("/optout", methods=["GET", "POST"])
@limiter.limit(submit_limit_per_ip, methods=["POST"])
def page() -> ResponseReturnValue:
    if request.method == "GET":  # no state change on GET
        return render_template("optout.html", done=False, error=None)
    if request_origin() != own_origin():
        raise Forbidden(reason="origin_not_allowed")
    try:
        _opt_out(request.form.get("phone"))
    except BadRequest as exc:
        return render_template("optout.html", done=False, error=exc.fields["phone"]), 400
    return render_template("optout.html", done=True, error=None, message=gettext(DONE))


@bp.post("/v1/optout")
@limiter.limit(submit_limit_per_ip)
def api() -> ResponseReturnValue:
    if not request.is_json:
        raise UnsupportedMediaType()
    _opt_out(json_body.request_object().get("phone"))
    return jsonify(status="recorded", message=gettext(DONE)), 202
