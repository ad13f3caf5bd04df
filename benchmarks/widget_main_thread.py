"""What the loader costs a host page, measured in Chromium against the same page without it.

    .venv/bin/python benchmarks/widget_main_thread.py [runs]

Each run opens a fresh browser context (cold cache, as on a first visit) on a host page
served from another origin, waits for the load event and a fixed time (by then the button
is mounted) and reads:

- Chromium's trace of the main thread: each slice of the loader's own work (evaluating
  widget.js, its load handler, mounting the button), the longest one and their sum;
- Chromium's counters (CDP Performance.getMetrics): time spent running script and running
  tasks on the main thread, against the same host page without the script tag, measured
  in the same run and interleaved with it;
- the page's long tasks (over 50 ms) and layout shifts, from PerformanceObserver;
- what the page fetched from the widget server before anyone touched the button.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from _app import ROOT  # noqa: F401  (puts the project on sys.path)

from tests.browser import chromium
from tests.live import host_site, live_server

SETTLE_MS = 1500
OBSERVE_JS = """
window.longTasks = []; window.layoutShift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { window.longTasks.push(e.duration); });
}).observe({type: "longtask", buffered: true});
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.layoutShift += e.value; });
}).observe({type: "layout-shift", buffered: true});
"""


def host_page(tag: str) -> str:
    paragraphs = "".join(f"<p>Paragraph {i} of an ordinary product page.</p>" for i in range(200))
    return (
        "<!doctype html><html lang='en'><head><title>Shop</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'><script src='/observe.js'></script></head>"
        f"<body><h1>Shop</h1>{paragraphs}{tag}</body></html>"
    )


def measure(browser: Any, url: str, server_url: str, with_widget: bool) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: r.url.startswith(server_url) and fetched.append(r.url))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    browser.start_tracing(page=page, categories=["devtools.timeline"])
    page.goto(url)
    page.wait_for_load_state("load")
    # A fixed wait, the same for both pages: polling for the button from the test driver
    # would itself run script in the page and be counted.
    page.wait_for_timeout(SETTLE_MS)
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    slices = loader_slices(browser.stop_tracing())
    observed = page.evaluate(
        "({longTasks: window.longTasks, shift: window.layoutShift,"
        " mounted: !!document.querySelector('[data-widget-server]')})"
    )
    assert observed["mounted"] == with_widget, "the button did not appear in time"
    context.close()
    return {
        "script_ms": metrics["ScriptDuration"] * 1000,
        "task_ms": metrics["TaskDuration"] * 1000,
        "long_tasks": observed["longTasks"],
        "layout_shift": observed["shift"],
        "fetched": [u[len(server_url) :].split("?")[0] for u in fetched],
        "slices": slices,
    }


def loader_slices(trace: bytes) -> dict[str, float]:
    """Main-thread slices (ms) that run widget.js: its evaluation and each function it runs."""
    events = json.loads(trace)
    events = events["traceEvents"] if isinstance(events, dict) else events
    slices: dict[str, float] = {}
    for event in events:
        data = event.get("args", {}).get("data") or {}
        if (
            event.get("name") in ("EvaluateScript", "FunctionCall")
            and event.get("ph") == "X"
            and "/widget.js" in str(data.get("url", ""))
        ):
            label = "evaluate" if event["name"] == "EvaluateScript" else data.get("functionName")
            label = label or "anonymous"
            slices[label] = slices.get(label, 0.0) + event["dur"] / 1000
    return slices


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    pages: dict[str, tuple[str, str]] = {"/observe.js": ("text/javascript", OBSERVE_JS)}
    with (
        host_site(pages) as site,
        live_server(Path(tempfile.mkdtemp(prefix="widget-server-bench-")), [site]) as server,
        chromium() as browser,
    ):
        tag = (
            f'<script async src="{server.url}/widget.js" data-widget="{server.widget_id}"></script>'
        )
        pages["/with"] = ("text/html", host_page(tag))
        pages["/without"] = ("text/html", host_page(""))
        results: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
        measure(browser, site + "/with", server.url, True)  # warm the server, not the browser
        for _ in range(runs):  # interleaved, so both see the same machine load
            results["without"].append(measure(browser, site + "/without", server.url, False))
            results["with"].append(measure(browser, site + "/with", server.url, True))

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    print(f"host page main thread, median of {runs} cold loads each")
    slices = [r["slices"] for r in results["with"]]
    assert all(slices), "no widget.js work found in the trace"
    labels = sorted({label for run in slices for label in run})
    parts = ", ".join(
        f"{label} {statistics.median(run.get(label, 0.0) for run in slices):.2f} ms"
        for label in labels
    )
    print(f"  loader's own main-thread work (trace): {parts}")
    print(
        f"    longest slice {statistics.median(max(run.values()) for run in slices):.2f} ms "
        f"(worst run {max(max(run.values()) for run in slices):.2f} ms), "
        f"total {statistics.median(sum(run.values()) for run in slices):.2f} ms"
    )
    for key, label in (("script_ms", "script"), ("task_ms", "all tasks")):
        base, widget = median("without", key), median("with", key)
        print(
            f"  {label:<10} without widget {base:7.2f} ms, with widget {widget:7.2f} ms: "
            f"+{widget - base:.2f} ms ({widget / base:.2f}x of the baseline)"
        )
    longest = max((t for r in results["with"] for t in r["long_tasks"]), default=0.0)
    baseline_longest = max((t for r in results["without"] for t in r["long_tasks"]), default=0.0)
    print(
        f"  long tasks (>50 ms): longest {longest:.0f} ms with the widget, "
        f"{baseline_longest:.0f} ms without"
    )
    shift = max(r["layout_shift"] for r in results["with"])
    print(f"  layout shift with the widget: {shift:.4f} (baseline 0 expected)")
    fetched = sorted(set(u for r in results["with"] for u in r["fetched"]))
    print(f"  fetched from the widget server before any interaction: {', '.join(fetched)}")
    framed = [u for u in fetched if u.startswith("/w/")]
    print("  form iframe loaded before interaction: " + ("YES" if framed else "no"))


if __name__ == "__main__":
    main()
