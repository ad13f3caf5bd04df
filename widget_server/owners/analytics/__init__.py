"""Funnel analytics: what happened to a widget's visitors, counted per day.

The loader's beacons (shown, opened) and refused submissions are counted in a tally (in
this process, or in Redis) and flushed into daily rows by a job; the steps a callback
takes afterwards are rolled up from the call events by the same job, past a watermark.
Every count added to a day is added to its month's row too, in the same transaction.
The analytics page reads only these rows (`report`): whole months from the monthly sums.
"""

from .report import Report, report
from .rollup import flush_tally, roll_up_events, run
from .steps import Step
from .tally import MemoryTally, RedisTally, Tally, tally_for

__all__ = [
    "Report",
    "Step",
    "MemoryTally",
    "RedisTally",
    "Tally",
    "flush_tally",
    "report",
    "roll_up_events",
    "run",
    "tally_for",
]
