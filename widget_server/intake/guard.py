"""Abuse guard: the per-client, per-number, per-widget and budget limits (`limits`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse, parse_many
from limits.storage import RedisSentinelStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.commands.core import Script

from ..core.errors import TooManyRequests, Unavailable
from ..core.models import Widget

log = logging.getLogger(__name__)

NAMESPACE = "widget-server"
# The `limits` storage these hits count in: the one flask-limiter counts per-IP limits in.
STORAGE = "widget_server.limit_storage"


# Widget `limits` keys that override these settings, each a `limits` string.
LIMIT_SETTINGS = {
    "per_number": "SUBMIT_LIMIT_PER_NUMBER",
    "per_prefix": "SUBMIT_LIMIT_PER_PREFIX",
    "distinct_numbers_per_ip": "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP",
    "per_widget": "SUBMIT_LIMIT_PER_WIDGET",
}


def _limits(widget: Widget, key: str, scope: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """The server's limit for `key` on its shared bucket, plus the widget's own if it sets one.

    The server's limits are ceilings: a widget's limit counts in a bucket of its own *as
    well*, so it can only refuse more, never lift the server's (a widget asking for
    "1000 per minute" still gets the server's "1 per 10 minutes" per number).
    """
    limits = [(str(current_app.config[LIMIT_SETTINGS[key]]), scope)]
    own = widget.limits.get(key)
    if own:
        subject = () if scope[0] == "widget" else scope[1:]
        limits.append((str(own), ("own-" + scope[0], widget.id, *subject)))
    return limits


# One hit of a submission: the limit, the key it counts under, the cost, the refusal
# reason, and for a gate (reason None, the "pair" below) how many hits after it to skip
# when it does not open; a gate that does not open refuses nothing.
Hit = tuple[RateLimitItem, tuple[str, ...], int, str | None, int]
# The reason of a hit that refuses nothing: it counts, the hits after it count too, and
# the count says only that one such limit was already full (pressure.accepted_hits).
TALLIED = "tallied"


def hit_limits(widget: Widget, e164: str, client: str, tallied: Sequence[Hit] = ()) -> bool:
    """Count one accepted-looking request against every key; refuse when any is over.

    Keys: the destination number (across all widgets), its prefix (appended digits land in
    one bucket), distinct numbers per client, the widget, and the daily call and minute
    budgets of the account and of the server. A widget's own limits count beside the
    server's, never instead of them. Then `tallied` (TALLIED hits and their gates, such as
    the pressure count), in the same round trip, only when no limit refused: the answer
    says whether one of those was full.
    """
    refused = _count([*_distinct_hits(widget, e164, client), *_hits(widget, e164), *tallied])
    if refused is None or refused == TALLIED:
        return refused == TALLIED
    if refused.endswith("budget"):
        log.warning(
            "budget reached (%s): widget=%s paused until the window frees up", refused, widget.id
        )
    raise TooManyRequests(reason=refused)


def _distinct_hits(widget: Widget, e164: str, client: str) -> list[Hit]:
    # A number this client has not asked for this hour counts as one more distinct one:
    # the "pair" gate opens onto the distinct-numbers limit only the first time.
    distinct = [
        item
        for limit, key in _limits(widget, "distinct_numbers_per_ip", ("distinct", client))
        for item in _items(limit, key, 1)
    ]
    return [
        (PAIR, ("pair", client, e164), 1, None, len(distinct)),
        *((item, key, cost, "distinct_numbers", 0) for item, key, cost in distinct),
    ]


def _hits(widget: Widget, e164: str) -> list[Hit]:
    config = current_app.config
    prefix = e164[: 1 + int(config["PREFIX_DIGITS"])]
    minutes = max(1, round(widget.timeout / 60 + float(config["ESTIMATED_CALL_MINUTES"])))
    checks = [
        *((limit, key, 1, "number_rate_limited") for limit, key in _limits(
            widget, "per_number", ("number", e164))),
        *((limit, key, 1, "prefix_rate_limited") for limit, key in _limits(
            widget, "per_prefix", ("prefix", prefix))),
        *((limit, key, 1, "widget_rate_limited") for limit, key in _limits(
            widget, "per_widget", ("widget", widget.id))),
        (config["ACCOUNT_DAILY_CALL_BUDGET"], ("account-calls", widget.account_id), 1,
         "account_budget"),
        (config["DAILY_CALL_BUDGET"], ("server-calls",), 1, "server_budget"),
        (config["DAILY_MINUTE_BUDGET"], ("server-minutes",), minutes, "minute_budget"),
    ]
    return [
        (item, key, cost, reason, 0)
        for limit, key, cost, reason in checks
        for item, _key, _cost in _items(limit, key, cost)
    ]


PAIR = parse("1 per hour")
CLIENT_SUBMISSIONS = "submissions"  # the one bucket per client of every submission route


def hit_client_limit(client: str, also_read: dict[str, int] | None = None) -> None:
    """Count one submission of `client`; refuse (429) once SUBMIT_LIMIT_PER_IP is reached.

    The caller decides when a submission counts (intake.submission: once the checks that
    cost nothing to refuse passed). A refusal tells when to come back and how the limit
    stands. The counters named in `also_read` (a widget's pressure flag) are read in the
    same round trip: each value lands under its name (0 when unset).
    """
    hits = _key_hits("SUBMIT_LIMIT_PER_IP", (CLIENT_SUBMISSIONS, client), "ip_rate_limited")
    refused = _count(hits, also_read)
    if refused is not None:
        raise TooManyRequests(reason=refused, headers=_window_headers(hits, refused))


class Refusal(str):
    """The reason of the hit that refused, with where that hit's window starts when the
    store said so with its answer (Redis); None: read it back if needed."""

    hit: int = -1  # its index in the hits
    window_start: float | None = None


def _window_headers(hits: list[Hit], refused: str) -> dict[str, str]:
    """The state of the limit that refused: from the refusal itself, or read back."""
    now = time.time()
    if isinstance(refused, Refusal) and refused.window_start is not None:
        item = hits[refused.hit][0]  # its cost is 1: the window is full, nothing remains
        remaining, reset_at = 0, int(refused.window_start + item.get_expiry())
        amount = item.amount
    else:  # the fullest of them (in memory, a read costs no round trip)
        window = MovingWindowRateLimiter(current_app.extensions[STORAGE])
        full = []
        for item, key, *_rest in hits:
            reset, left = window.get_window_stats(item, NAMESPACE, *key)
            full.append((left, -reset, item.amount, int(reset)))
        remaining, _, amount, reset_at = min(full)
    return {
        "Retry-After": str(max(1, int(reset_at - now))),
        "X-RateLimit-Limit": str(amount),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset_at),
    }


def hit_optout_limits(e164: str) -> None:
    """Count one opt-out code for `e164`; refuse when the number has had its share."""
    hits = _key_hits("OPTOUT_LIMIT_PER_NUMBER", ("optout-number", e164), "optout_rate_limited")
    refused = _count(hits)
    if refused is not None:
        raise TooManyRequests(reason=refused)


def _key_hits(setting: str, key: tuple[str, ...], reason: str) -> list[Hit]:
    """One hit of cost 1 on `key` for each limit of the server's `setting`."""
    limit = str(current_app.config[setting])
    return [(item, key, cost, reason, 0) for item, key, cost in _items(limit, key, 1)]


def _count(hits: list[Hit], also_read: dict[str, int] | None = None) -> str | None:
    try:
        return _hit_all(hits, also_read)
    except Exception as exc:
        # Fail closed: without the limit store nothing may be dialled (or texted).
        log.error("rate-limit store unavailable: %s", exc.__class__.__name__)
        raise Unavailable(reason="limit_store_down") from None


def _items(
    limit: str, key: tuple[str, ...], cost: int
) -> list[tuple[RateLimitItem, tuple[str, ...], int]]:
    # A limit may be several ("10 per minute; 100 per day"): each counts on its own.
    return [(item, key, cost) for item in parsed_limits(limit)]


@lru_cache(maxsize=256)
def parsed_limits(limit: str) -> tuple[RateLimitItem, ...]:
    # The same few strings (settings, widget overrides) come with every submission;
    # parsed items are immutable, so one parse per string serves them all.
    return tuple(parse_many(limit))


def _hit_all(hits: list[Hit], also_read: dict[str, int] | None = None) -> str | None:
    """Hit each limit in order; return the reason of the first that refuses, else None.

    Each hit checks and counts in one atomic step, so concurrent requests cannot all slip
    in under a limit the way a test-then-hit would let them; the limits after a refusal
    are not counted. A gate (reason None) that does not open skips as many hits after it
    as it names, instead of refusing. A TALLIED hit never refuses: when no hit refused
    but one of those was full, the answer is TALLIED. Unless one refused, the counters
    named in `also_read` are read afterwards, each value stored under its name.
    """
    storage = current_app.extensions[STORAGE]
    reads = also_read if also_read is not None else {}
    # Not RedisClusterStorage: one script may not touch keys on several cluster nodes.
    if isinstance(storage, RedisStorage) and type(storage) in (RedisStorage, RedisSentinelStorage):
        # Every hit in one round trip instead of one each.
        return _hit_all_in_redis(storage, hits, reads)
    answer = _hit_each(MovingWindowRateLimiter(storage), hits)
    if answer is None or answer == TALLIED:
        for name in reads:
            reads[name] = int(storage.get(name))
    return answer


def _hit_each(window: MovingWindowRateLimiter, hits: list[Hit]) -> str | None:
    skip, full = 0, False
    for item, key, cost, reason, gate_skip in hits:
        if skip:
            skip -= 1
        elif not window.hit(item, NAMESPACE, *key, cost=cost):
            if reason == TALLIED:
                full = True
            elif reason is not None:
                return reason
            else:
                skip = gate_skip
    return TALLIED if full else None


# limits' own moving-window acquire (acquire_moving_window.lua), looped over every key in
# order: same keys, same entries, same test-and-add, stopping at the first refusal. Each
# key's numbers come in one string (ARGV[2], four per key: limit, expiry, amount and what
# its refusal does), not as four arguments each: the client packs every argument on its
# own, and that cost more than the round trip. What a refusal does: -1 stops (the answer
# is its index), -2 is noted and the loop goes on (the answer is then -1), n >= 0 skips
# the next n keys. The answer comes first in a list. After a refusal comes the entry that
# refused (its window's oldest when the amount is 1, as limits' moving window reads it);
# otherwise the values of the keys after the hits' (counters only read) follow it.
HIT_ALL_SCRIPT = """
local timestamp = tonumber(ARGV[1])
local skip = 0
local full = 0
local i = 0
local numbers = string.gmatch(ARGV[2], "(%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+)")
for limit, expiry, amount, gate_skip in numbers do
  i = i + 1
  local key = KEYS[i]
  limit = tonumber(limit)
  expiry = tonumber(expiry)
  amount = tonumber(amount)
  gate_skip = tonumber(gate_skip)
  if skip > 0 then
    skip = skip - 1
  else
    local acquired = amount <= limit
    local entry = false
    if acquired then
      entry = redis.call('lindex', key, limit - amount)
      if entry and tonumber(entry) >= timestamp - expiry then
        acquired = false
      end
    end
    if acquired then
      local entries = {}
      for n = 1, amount do
        entries[n] = timestamp
      end
      for n = 1, #entries, 5000 do
        redis.call('lpush', key, unpack(entries, n, math.min(n + 4999, #entries)))
      end
      redis.call('ltrim', key, 0, limit - 1)
      redis.call('expire', key, expiry)
    elseif gate_skip == -1 then
      if entry then
        return {i, entry}
      end
      return {i}
    elseif gate_skip == -2 then
      full = 1
    else
      skip = gate_skip
    end
  end
end
local answer = {-full}
for n = i + 1, #KEYS do
  answer[#answer + 1] = tonumber(redis.call('get', KEYS[n]) or 0)
end
return answer
"""


@lru_cache(maxsize=8)  # one per limit store (an app has one)
def _script(storage: RedisStorage) -> Script:
    return storage.get_connection().register_script(HIT_ALL_SCRIPT.encode())


def _hit_all_in_redis(storage: RedisStorage, hits: list[Hit], reads: dict[str, int]) -> str | None:
    prefix = storage.key_prefix
    keys, numbers = [], []
    for item, key, cost, reason, gate_skip in hits:
        head, tail, amount_and_expiry = _key_parts(item)
        keys.append(f"{prefix}:{head}{'/'.join(key)}{tail}")
        on_refusal = gate_skip if reason is None else -2 if reason == TALLIED else -1
        numbers.append(f"{amount_and_expiry} {cost} {on_refusal}")
    names = list(reads)
    keys += [storage.prefixed_key(name) for name in names]  # read after the hits
    answer = _script(storage)(keys=keys, args=[time.time(), " ".join(numbers)])
    refused = int(answer[0])
    if refused > 0:
        reason = Refusal(hits[refused - 1][3])
        reason.hit = refused - 1
        if len(answer) > 1 and hits[reason.hit][2] == 1:
            reason.window_start = float(answer[1])
        return reason
    for name, value in zip(names, answer[1:], strict=True):
        reads[name] = int(value)
    return TALLIED if refused < 0 else None


@lru_cache(maxsize=256)
def _key_parts(item: RateLimitItem) -> tuple[str, str, str]:
    """The key of `item`'s window around its subject, as `limits` builds it (key_for), and
    the limit's numbers for the script: built once per limit, not per hit."""
    head = f"{item.namespace}/{NAMESPACE}/"
    tail = f"/{item.amount}/{item.multiples}/{item.GRANULARITY.name}"
    return head, tail, f"{item.amount} {item.get_expiry()}"
