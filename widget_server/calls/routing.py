"""Which agent is rung: a widget's (or department's) agents, tried by its strategy.

A callback's attempts are rounds of agent legs. Each leg is its own attempt (its own
originate, signed event URL and idempotency key), so a late report from an agent already
given up on is stale and moves nothing. A round tries the agents in `Callback.agent_order`
one after another (`ordered`, `round_robin`) or all at once (`simultaneous`); only when
the whole round went unanswered does the widget's retry policy decide whether another
round follows. The visitor is rung at most once per leg, and only after an agent accepted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.models import AgentRotation, Callback, Widget
from ..core.numbers import mask
from . import hours

log = logging.getLogger(__name__)

ORDERED, ROUND_ROBIN, SIMULTANEOUS = "ordered", "round_robin", "simultaneous"
# Ends of a leg that the next agent may fix: this agent did not take the call.
AGENT_ENDS = frozenset(
    {"agent_no_answer", "agent_busy", "agent_failed", "agent_voicemail", "agent_no_key"}
)


@dataclass(frozen=True)
class Leg:
    """The agents one originate rings: one, or all of a simultaneous round."""

    extensions: tuple[str, ...]
    labels: tuple[str | None, ...]
    position: int  # in the round, from 0
    round: int  # from 1

    def timeline(self) -> dict[str, Any]:
        """What the timeline shows of this leg: agents masked where they are numbers."""
        shown: dict[str, Any] = {
            "agent": ", ".join(shown_agent(e) for e in self.extensions),
            "leg": self.position + 1,
            "round": self.round,
        }
        labels = [label for label in self.labels if label]
        if labels:
            shown["agent_label"] = ", ".join(labels)
        return shown


def agents_of(widget: Widget, department: str | None) -> list[dict[str, Any]]:
    """Return the agents a callback of `department` (None: the widget's own) may ring."""
    if department:
        for found in widget.departments or []:
            if found.get("key") == department:
                return list(found.get("agents") or [])
    return list(widget.agents or []) or [{"extension": widget.extension}]


def department_of(widget: Widget, key: str | None) -> dict[str, Any] | None:
    return next((d for d in widget.departments or [] if d.get("key") == key), None)


def department_name(widget: Widget, key: str | None, language: str) -> str | None:
    """Return a department's name in `language`, else the widget's, else its first one."""
    department = department_of(widget, key)
    if department is None:
        return None
    names = department.get("names") or {}
    for wanted in (language, widget.locale):
        if isinstance(names.get(wanted), str):
            return str(names[wanted])
    return next(iter(names.values()), None) if names else str(key)


def department_choices(widget: Widget, language: str) -> list[tuple[str, str]]:
    """Return (key, name in `language`) of each department a visitor may pick."""
    return [
        (str(d["key"]), department_name(widget, d["key"], language) or str(d["key"]))
        for d in widget.departments or []
    ]


def next_leg(session: Session, callback: Callback, now: datetime) -> Leg | None:
    """Return the leg this dial places, starting a new round when none is under way.

    None: no agent of the round is within their own hours now. Changes the callback; the
    caller commits them with the attempt.
    """
    widget = callback.widget
    agents = agents_of(widget, callback.department)
    if not callback.agent_order or callback.agent_leg >= len(callback.agent_order):
        callback.rounds = (callback.rounds or 0) + 1
        callback.agent_order = _round_order(session, widget, callback.department, agents, now)
        callback.agent_leg = 0
    return current_leg(callback)


def current_leg(callback: Callback) -> Leg | None:
    """Return the leg the callback's current attempt rings (None: no round under way)."""
    agents = agents_of(callback.widget, callback.department)
    order = [i for i in callback.agent_order if i < len(agents)]
    if not order or callback.agent_leg >= len(order):
        return None
    chosen = order if callback.widget.strategy == SIMULTANEOUS else [order[callback.agent_leg]]
    return Leg(
        extensions=tuple(str(agents[i]["extension"]) for i in chosen),
        labels=tuple(agents[i].get("label") for i in chosen),
        position=callback.agent_leg,
        round=callback.rounds,
    )


def first_leg(callback: Callback) -> Leg:
    """Return a leg ringing the first agent: what a callback routed by no round rang."""
    first = agents_of(callback.widget, callback.department)[0]
    return Leg((str(first["extension"]),), (first.get("label"),), 0, max(callback.rounds, 1))


def advance(callback: Callback, cause: str | None) -> bool:
    """Move a round on to its next agent after one who did not take the call.

    False: the round is over (last agent, a simultaneous ring, or an end the next agent
    cannot fix, such as the visitor not answering).
    """
    if cause not in AGENT_ENDS or callback.widget.strategy == SIMULTANEOUS:
        return False
    if callback.agent_leg + 1 >= len(callback.agent_order):
        return False
    callback.agent_leg += 1
    return True


def end_round(callback: Callback) -> None:
    """Let the next dial start a fresh round (a retry asks every agent again)."""
    callback.agent_order = []
    callback.agent_leg = 0


def _round_order(
    session: Session,
    widget: Widget,
    department: str | None,
    agents: list[dict[str, Any]],
    now: datetime,
) -> list[int]:
    """Return the agents of a new round, by index, in the order they are tried."""
    present = [i for i, agent in enumerate(agents) if _on_duty(widget, agent, now)]
    if widget.strategy == ROUND_ROBIN and present:
        turn = take_turn(session, widget.id, department or "")
        start = turn % len(present)
        present = present[start:] + present[:start]
    return present


def _on_duty(widget: Widget, agent: dict[str, Any], now: datetime) -> bool:
    """Say whether an agent's own business hours (if any) are open now."""
    own = agent.get("business_hours")
    if not own or hours.validation_errors(own):
        return True
    return hours.is_open(hours.schedule_for(own, widget.time_zone), now)


def take_turn(session: Session, widget_id: str, department: str) -> int:
    """Return this callback's turn (0, 1, 2, …) in a round-robin shared by all processes.

    One UPDATE … RETURNING under the row's lock: two workers never take the same turn.
    """
    key = (AgentRotation.widget_id == widget_id, AgentRotation.department == department)
    bumped = update(AgentRotation).where(*key).values(turns=AgentRotation.turns + 1)
    turns = session.execute(bumped.returning(AgentRotation.turns)).scalar()
    if turns is None:
        try:
            with session.begin_nested():
                session.add(AgentRotation(widget_id=widget_id, department=department, turns=1))
            turns = 1
        except IntegrityError:
            # Another process created the row a moment ago: take the next turn on it.
            turns = session.execute(bumped.returning(AgentRotation.turns)).scalar_one()
    return int(turns) - 1


def rotation(session: Session, widget_id: str, department: str = "") -> int:
    """Return how many round-robin turns a widget's (or department's) agents have taken."""
    found = session.scalar(
        select(AgentRotation.turns).where(
            AgentRotation.widget_id == widget_id, AgentRotation.department == department
        )
    )
    return int(found or 0)


def shown_agent(extension: str) -> str:
    """Show an agent in the timeline: a number masked as visitors' are, an extension whole."""
    if extension.startswith("+"):
        return mask(extension)
    if extension.startswith(("sip:", "sips:")):
        scheme, _, address = extension.partition(":")
        user, _, host = address.partition("@")
        return f"{scheme}:{user[:1]}•••@{host}"
    if len(extension) > 6:
        return f"••{extension[-2:]}"
    return extension
