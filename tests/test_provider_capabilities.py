"""Each provider's capabilities: declared once on the adapter, shown in docs/providers.md."""

from __future__ import annotations

import re
from pathlib import Path

from widget_server import providers
from widget_server.providers import Capability

DOCS = Path(__file__).resolve().parent.parent / "docs" / "providers.md"
TABLE = re.compile(r"<!-- capabilities: begin -->\n(.*?)<!-- capabilities: end -->", re.S)


def capability_table() -> str:
    """Render the provider × capability table from the adapters' declarations."""
    header = ["provider", *(f"`{capability.value}`" for capability in Capability), "hand-off lease"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, adapter in providers.REGISTRY.items():
        marks = ["yes" if adapter.can(capability) else "no" for capability in Capability]
        lease = (
            "—" if adapter.can(Capability.REPORTS_STATUS) else f"{adapter.handoff_lease_seconds} s"
        )
        lines.append("| " + " | ".join([f"`{name}`", *marks, lease]) + " |")
    return "\n".join(lines) + "\n"


def test_docs_table_matches_the_declarations() -> None:
    found = TABLE.search(DOCS.read_text())
    assert found is not None, "docs/providers.md has no capabilities table between its markers"
    assert found.group(1) == capability_table(), (
        "docs/providers.md's capability table is out of date; replace it with:\n"
        + capability_table()
    )


def test_provider_capabilities_by_name() -> None:
    assert providers.provider_capabilities("voiptech") == frozenset({Capability.SCHEDULING})
    assert Capability.CANCEL in providers.provider_capabilities("twilio")
    assert providers.provider_capabilities("no-such-provider") == frozenset()


def test_the_seed_adapters_report_nothing() -> None:
    for name in ("extramobile", "click2dial", "telecmi", "voiptech"):
        adapter = providers.provider_class(name)
        assert not adapter.can(Capability.REPORTS_STATUS), name
        assert 60 <= adapter.handoff_lease_seconds <= 600, name


def test_reports_call_status_follows_the_declaration() -> None:
    simulator = providers.build("simulator", {})
    assert simulator.reports_call_status()
    click2dial = providers.provider_class("click2dial")
    assert not click2dial.can(Capability.REPORTS_STATUS)
