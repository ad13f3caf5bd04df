"""Provider event webhooks: `POST /v1/events/<provider>/<signed_ref>`."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ..calls.provider_events import EVENT_PATH, IncomingEvent, event_base_url, receive
from ..core import db
from ..core.tokens import tokens
from ..jobs import jobs
from . import json_body

bp = Blueprint("events", __name__, url_prefix=EVENT_PATH)


def _called_url() -> str:
    """Return the URL as the provider called it (providers that sign requests sign exactly that)."""
    base = event_base_url()
    if base is None:
        return request.url
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


# POST only: every adapter asks its provider for POSTed callbacks (Twilio's
# StatusCallbackMethod is set to POST), so no state change ever rides on a GET.
@bp.post("/<provider>/<ref>")
def provider_event(provider: str, ref: str) -> ResponseReturnValue:
    body = None
    if request.is_json:
        try:
            body = json_body.decode(request.get_data(cache=True))
        except ValueError:
            pass  # not JSON after all: the adapter reads the form, or refuses the event
    incoming = IncomingEvent(
        provider=provider[:32],
        ref=ref,
        url=_called_url(),
        form=request.form.to_dict(flat=True),
        json=body,
        raw=request.get_data(cache=True),
        # Every header: which ones carry a signature is the adapter's business.
        headers=dict(request.headers),
    )
    received = receive(db.session(), incoming, tokens=tokens(), enqueue_dial=jobs().enqueue_dial)
    if received.reply is not None:
        # The provider asked what to do next (Twilio's <Gather> and <Dial> actions).
        return received.reply.body, 200, {"Content-Type": received.reply.content_type}
    return jsonify(received=True, applied=received.applied, known=received.known), 200
