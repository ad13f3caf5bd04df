"""The owners' dashboard: server-rendered pages on one blueprint, one module per page.

Each page module registers its views on `bp` and its entry in `nav` when imported; the
imports below are one line per page, so that adding a page is adding one line.
"""

from __future__ import annotations

from flask import Flask

from ...core import db
from ...owners.people import Role, accounts_of
from . import protection
from .access import current_member, signed_in
from .blueprint import bp
from .nav import NavItem, visible

# isort: off
# Import order is the navigation's order.
from . import overview  # noqa: F401
from . import widget_pages  # noqa: F401
from . import inbox  # noqa: F401
from . import analytics  # noqa: F401
from . import install  # noqa: F401
from . import keys  # noqa: F401
from . import webhooks  # noqa: F401
from . import members  # noqa: F401
from . import audit  # noqa: F401
from . import security  # noqa: F401
from . import sign_in  # noqa: F401
from . import second_factor
from . import password_reset  # noqa: F401
from . import invitation  # noqa: F401

# isort: on


def _accounts() -> list[tuple[str, str]]:
    member = signed_in()
    return accounts_of(db.session(), member.user_id) if member else []


def _nav(role: Role) -> list[NavItem]:
    # A member held until they set up a second factor is shown only where they may go.
    entries = visible(role)
    if second_factor.held():
        return [item for item in entries if item.endpoint in second_factor.OPEN_BEFORE_SETUP]
    return entries


@bp.context_processor
def dashboard_globals() -> dict[str, object]:
    return {
        "dashboard_member": signed_in,
        "dashboard_nav": _nav,
        "dashboard_accounts": _accounts,
    }


def init_app(app: Flask) -> None:
    protection.init_app(app)
    app.register_blueprint(bp)


__all__ = ["bp", "current_member", "init_app"]
