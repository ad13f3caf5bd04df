"""Keep the objects a server process builds at start out of the garbage collector's way.

A full collection walks every tracked object. A widget-server process holds about 160,000
of them once the app is built (routes, models, phone-number and locale data), and a full
collection of those takes some 80 ms, which lands on whatever request happens to trigger
it: the p99 of a submission or of a long analytics page was mostly that pause. These
objects live as long as the process, so collecting them can never free anything.
`gc.freeze()` moves them to a generation no collection visits; later collections walk only
what requests build. Called once, by the entry points that serve (never by `create_app`,
which tests call thousands of times in one process).
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect what start-up left as garbage, then exempt every object still alive."""
    gc.collect()
    gc.freeze()
