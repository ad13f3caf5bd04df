"""The domain's reasons in the reader's language: every dashboard page shows them so."""

from __future__ import annotations

from flask_babel import gettext

from ...core.reasons import render


def translate_reason(reason: object, with_path: bool = True) -> str:
    """Say a domain reason (a core.reasons.Reason) in the current request's language.

    Parameters that are values (an origin, an index, a limit) stay as they are; a text
    that is not a Reason is shown as it came.
    """
    return render(reason, gettext, with_path)
