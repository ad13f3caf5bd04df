"""Accounts (tenants): the names the product gives its own."""

from __future__ import annotations

# The account `flask demo` creates and the demo page shows.
DEMO_ACCOUNT = "Demo"
