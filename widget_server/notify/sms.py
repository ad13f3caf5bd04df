"""Text messages to a callee: the code that proves an opt-out comes from the number's owner.

Sent through Twilio's Messages resource (POST /2010-04-01/Accounts/{AccountSid}/Messages.json
with To, From and Body; HTTP Basic auth with the account SID and auth token), on the
operator's own account: the OPTOUT_SMS_* settings. Without them no code can be sent, and
opt-outs are taken by the operator (`flask blocklist add optout`) instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from ..core.egress import PUBLIC, DestinationRefused, EgressPolicy, provider_policy
from ..core.numbers import mask
from ..providers.base import PermanentProviderError, RetryableProviderError
from ..providers.http import CONNECT_TIMEOUT, shared_session

log = logging.getLogger(__name__)

READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class TwilioMessages:
    account_sid: str
    auth_token: str
    sender: str  # an E.164 number or a messaging service's alphanumeric sender
    base_url: str = "https://api.twilio.com"
    egress: EgressPolicy = PUBLIC  # where the operator lets the server connect

    def send(self, to: str, body: str) -> str:
        """Send `body` to the E.164 number `to`; return the message sid."""
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = shared_session(self.egress).post(
                url,
                data={"To": to, "From": self.sender, "Body": body},
                auth=(self.account_sid, self.auth_token),
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
        except DestinationRefused:
            raise PermanentProviderError(
                "sms: destination refused", cause="destination_refused"
            ) from None
        except requests.RequestException as exc:
            raise RetryableProviderError(f"sms: {exc.__class__.__name__}") from None
        answer = _json(response)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableProviderError(f"sms: http {response.status_code}")
        if response.status_code != 201 or not isinstance(answer.get("sid"), str):
            code = answer.get("code")
            log.warning("sms to %s refused: %s %s", mask(to), response.status_code, code)
            raise PermanentProviderError(
                f"sms: http {response.status_code}",
                cause=f"twilio_{code}" if isinstance(code, int) else "sms_refused",
            )
        return str(answer["sid"])


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def sender(config: Mapping[str, Any]) -> TwilioMessages | None:
    """Return the operator's text-message sender, or None when none is configured."""
    sid, token, sender_id = (
        config.get("OPTOUT_SMS_ACCOUNT_SID"),
        config.get("OPTOUT_SMS_AUTH_TOKEN"),
        config.get("OPTOUT_SMS_FROM"),
    )
    if not (sid and token and sender_id):
        return None
    return TwilioMessages(
        str(sid),
        str(token),
        str(sender_id),
        str(config.get("OPTOUT_SMS_BASE_URL")),
        # The operator's own setting, so the operator's allow-list for private hosts applies.
        egress=provider_policy(config),
    )
