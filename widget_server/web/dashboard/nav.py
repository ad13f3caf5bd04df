"""The dashboard's navigation: each page module adds its entry when imported."""

from __future__ import annotations

from dataclasses import dataclass

from ...owners.people import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # marked with N_, translated where shown
    minimum_role: Role


NAV: list[NavItem] = []


def add(item: NavItem) -> None:
    """Add a page's entry once (a module imported twice must not show twice)."""
    if all(existing.endpoint != item.endpoint for existing in NAV):
        NAV.append(item)


def visible(role: Role) -> list[NavItem]:
    """Return the entries a member with `role` may open, in the order they were added."""
    return [item for item in NAV if role.at_least(item.minimum_role)]
