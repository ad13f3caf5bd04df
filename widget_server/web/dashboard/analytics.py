"""The dashboard's analytics page: the funnel, its refusals, days, pages and campaigns.

It reads only the daily rows and their monthly sums (`owners.analytics.report`), whatever
the number of callbacks and beacons behind them. Every table also downloads as CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from babel.dates import get_day_names
from flask import Response, abort, render_template, request, url_for
from flask_babel import format_date, get_locale, gettext

from ...core import clock, db
from ...core.i18n import N_, direction
from ...owners import analytics as funnel
from ...owners.analytics import period, steps, tables
from ...owners.analytics.report import DAILY, Report
from ...owners.inbox_export import cell
from ...owners.people import Role
from . import charts, nav
from .access import current_member, require_role
from .blueprint import bp
from .inbox_rows import account_widgets

nav.add(nav.NavItem("dashboard.analytics", N_("Analytics"), Role.VIEWER))


def _read_period() -> tuple[period.Period, dict[str, str]]:
    widgets = account_widgets(current_member().account_id)
    # "Today" is the chosen widget's day (its business-hours time zone), else UTC's.
    chosen = next((w for w in widgets if w.id == request.args.get("widget")), None)
    today = steps.local_day(clock.now(), chosen.time_zone if chosen else "UTC")
    try:
        return period.parse(request.args, widgets, today), {}
    except period.PeriodInvalid as exc:
        return period.default(today), exc.fields


def _report(shown: period.Period) -> Report:
    return funnel.report(
        db.session(),
        current_member().account_id,
        shown.widget.id if shown.widget else None,
        shown.first,
        shown.last,
    )


@bp.route("/analytics")
@require_role(Role.VIEWER)
def analytics() -> Any:
    shown, errors = _read_period()
    found = _report(shown)
    all_tables = tables.tables(found)
    rtl = direction() == "rtl"
    html = render_template(
        "dashboard/analytics.html",
        widgets=account_widgets(current_member().account_id),
        period=shown,
        args={key: request.args.get(key, "") for key in ("widget", "from", "to")}
        if errors
        else shown.args(),
        errors=errors,
        report=found,
        tables=all_tables,
        charts=_charts(found, rtl),
        export=lambda name: _export_url(name, shown),
        breakdowns=list(tables.BREAKDOWN_TITLES),
        swatch=charts.swatch,
        marker=charts.marker,
        patterns=charts.patterns(),
    )
    return html, 400 if errors else 200


def _export_url(table: str, shown: period.Period) -> str:
    values: dict[str, Any] = {"table": table, **shown.args()}
    return url_for("dashboard.analytics_export", **values)


def _charts(found: Report, rtl: bool) -> dict[str, Any]:
    funnel_bars = [
        charts.Bar(tables.step_name(step.step), step.count, tables.percent(step.conversion))
        if step.conversion is not None
        else charts.Bar(tables.step_name(step.step), step.count)
        for step in found.funnel
    ]
    groups: dict[str, int] = {}
    for reason, count in found.refused:
        name = str(tables.GROUP_NAMES[steps.reason_group(reason)])
        groups[name] = groups.get(name, 0) + count
    daily_series = [
        charts.Series(tables.step_name(step), [counts[step] for _, counts in found.daily])
        for step in DAILY
    ]
    names = get_day_names("abbreviated", locale=str(_locale()))
    # Translated once and filled in 168 times: a gettext call per cell costs more.
    title = gettext("%(day)s %(hour)s: %(answered)d answered, %(missed)d missed")
    titles = [
        [
            title
            % {
                "day": names[weekday],
                "hour": f"{hour:02d}:00",
                "answered": answered,
                "missed": missed,
            }
            for hour, (answered, missed) in enumerate(row)
        ]
        for weekday, row in enumerate(found.hours)
    ]
    return {
        "funnel": charts.bars("funnel-title", funnel_bars, rtl),
        "refused": charts.bars(
            "refused-title", [charts.Bar(name, count) for name, count in groups.items()], rtl
        ),
        "daily": charts.lines(
            "daily-title",
            format_date(found.first, "medium"),
            format_date(found.last, "medium"),
            daily_series,
            rtl,
        ),
        "daily_series": daily_series,
        "week": charts.week("week-title", found.hours, [names[d] for d in range(7)], titles, rtl),
    }


def _locale() -> str:
    return str(get_locale() or "en")


@bp.route("/analytics/<table>.csv")
@require_role(Role.VIEWER)
def analytics_export(table: str) -> Any:
    shown, errors = _read_period()
    if errors:
        abort(400)
    found = tables.tables(_report(shown)).get(table)
    if found is None:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day_from", "day_to", "widget", *found.columns])
    scope = shown.widget.name if shown.widget else ""
    for row in found.raw:
        writer.writerow(
            [shown.first.isoformat(), shown.last.isoformat(), cell(scope), *map(cell, row)]
        )
    response = Response(out.getvalue(), mimetype="text/csv")
    name = f"analytics-{table}-{shown.first.isoformat()}-{shown.last.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
