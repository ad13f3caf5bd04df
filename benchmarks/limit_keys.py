"""Does a submission's rate-limit work grow with the keys the store holds?

Counts the hits of one submission (the per-number, prefix, distinct-numbers, widget and
budget limits, as intake/guard makes them) against an in-process store that already holds
0 or 100,000 live keys (each distinct number leaves 2, each address 1, kept up to a day),
for limits' own MemoryStorage and for this product's IncrementalMemoryStorage. CPU is the
whole process's (time.process_time), so a store's timer thread counts against it.

.venv/bin/python benchmarks/limit_keys.py [--keys 100000] [--hits 3000]
"""

from __future__ import annotations

import argparse
import gc
import time

from limits import parse, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from widget_server.intake.limit_store import IncrementalMemoryStorage

GOAL = 1.1  # CPU per submission with the keys / without, at most
LIMITS = [
    "1 per 10 minutes;3 per day",  # per number
    "10 per hour;30 per day",  # per prefix
    "3 per hour",  # distinct numbers per address
    "60 per hour;300 per day",  # per widget
    "500 per day",  # account budget
    "2000 per day",  # server budget
]


def submission_hits(window: MovingWindowRateLimiter, n: int) -> None:
    number = f"+1201555{n:06d}"
    for index, limit in enumerate(LIMITS):
        for item in parse_many(limit):
            window.hit(item, "bench", str(index), number if index < 3 else "w")


def cpu_per_submission(store_class: type[MemoryStorage], keys: int, hits: int) -> float:
    store = store_class()
    window = MovingWindowRateLimiter(store)
    day = parse("1 per day")
    for n in range(keys):  # live keys, as a day of traffic leaves them
        window.hit(day, "background", str(n))
    gc.collect()
    started = time.process_time()
    for n in range(hits):
        submission_hits(window, n)
    # Let a timer thread do the work it was given meanwhile, as it would between requests.
    time.sleep(0.2)
    spent = time.process_time() - started
    return spent / hits * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--hits", type=int, default=3_000)
    args = parser.parse_args()
    print(f"rate-limit CPU per submission, {args.hits} submissions, in-process stores")
    for store_class in (MemoryStorage, IncrementalMemoryStorage):
        empty = cpu_per_submission(store_class, 0, args.hits)
        full = cpu_per_submission(store_class, args.keys, args.hits)
        ratio = full / empty
        verdict = "met" if ratio <= GOAL else "MISSED"
        print(
            f"  {store_class.__name__:26} 0 keys {empty:6.3f} ms   {args.keys:,} keys "
            f"{full:6.3f} ms   ratio {ratio:5.2f} (goal <= {GOAL}: {verdict})"
        )


if __name__ == "__main__":
    main()
