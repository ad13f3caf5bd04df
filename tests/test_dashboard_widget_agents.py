"""The widget editor's agent and department rows through the test client: add, edit, move,
remove and save them without JavaScript, each domain refusal on the row it is about, and a
viewer's masked numbers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.dashboard import csrf_token, sign_in
from tests.owned import account_widget
from widget_server.core import db
from widget_server.core.models import Widget
from widget_server.owners.people import Role
from widget_server.web.dashboard import agent_editors
from widget_server.web.dashboard.access import Member


class Inputs(HTMLParser):
    """What a browser would post from a page's editor form: every named field's value."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "input" and name and found.get("type") not in ("submit", "hidden"):
            if found.get("type") == "checkbox":
                if "checked" in found:
                    self.values.setdefault(name, []).append(found.get("value") or "y")
            else:
                self.values[name] = found.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in found:
            self.values[self._select] = found.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += (
                data.lstrip("\n") if not self.values[self._textarea] else data
            )


def inputs(page: str) -> dict[str, Any]:
    parser = Inputs()
    parser.feed(page.split("data-editor>", 1)[1].split("</form>", 1)[0])
    return parser.values


@pytest.fixture
def owner(client: FlaskClient) -> Member:
    return sign_in(client)


def editor(client: FlaskClient, widget_id: str) -> str:
    return client.get(f"/dashboard/widgets/{widget_id}").get_data(as_text=True)


def post(client: FlaskClient, widget_id: str, data: dict[str, Any], action: str = "save") -> Any:
    url = f"/dashboard/widgets/{widget_id}"
    return client.post(url, data={**data, "action": action, "csrf_token": csrf_token(client, url)})


def stored(app: Flask, widget_id: str) -> Widget:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        db.session().expunge(widget)
        return widget


def tag(page: str, field: str) -> str:
    """The input tag with id `field` (attributes come in any order)."""
    found = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', page)
    assert found, field
    return found.group(0)


def error_on(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert found, page[page.find('class="alert"') :][:800]
    assert 'aria-invalid="true"' in tag(page, field)
    return found.group(1)


def test_agents_are_added_edited_and_saved_as_rows(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = account_widget(app, owner.account_id)
    page = editor(client, widget_id)
    assert "<legend>Agents</legend>" in page and "<legend>Agent 1</legend>" in page
    values = inputs(page)
    assert values["agents__0__extension"] == "1001"
    assert values["agents__1__extension"] == ""  # one empty row to fill
    assert 'name="agents"' not in page  # no JSON field for them any more
    values.update(
        {
            "agents__1__extension": "+27821234567",
            "agents__1__label": "Front desk",
            "agents__1__business_hours__windows__mon": "09:00-12:00, 13:00-17:00",
            "agents__1__business_hours__holidays": "2026-12-25",
            "strategy": "round_robin",
        }
    )
    saved = post(client, widget_id, values)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    widget = stored(app, widget_id)
    assert widget.agents == [
        {"extension": "1001"},
        {
            "extension": "+27821234567",
            "label": "Front desk",
            "business_hours": {
                "windows": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]},
                "holidays": ["2026-12-25"],
            },
        },
    ]
    assert widget.strategy == "round_robin" and widget.extension == "1001"
    again = inputs(editor(client, widget_id))
    assert again["agents__1__business_hours__windows__mon"] == "09:00-12:00, 13:00-17:00"
    assert again["agents__2__extension"] == ""


def test_add_another_re_renders_with_one_more_row_and_saves_nothing(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = account_widget(app, owner.account_id)
    values = inputs(editor(client, widget_id))
    values["agents__1__extension"] = "1002"
    shown = post(client, widget_id, values, action="agents__add")
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "Rows changed, not saved yet" in page
    assert "autofocus" in tag(page, "agents__2__extension")  # the keyboard is there
    values = inputs(page)
    assert values["agents__1__extension"] == "1002" and values["agents__2__extension"] == ""
    assert stored(app, widget_id).agents == [{"extension": "1001"}]
    values["agents__2__extension"] = "1003"
    assert post(client, widget_id, values).status_code == 303
    assert [a["extension"] for a in stored(app, widget_id).agents] == ["1001", "1002", "1003"]


def test_rows_move_up_and_down_and_the_first_agent_becomes_the_extension(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    agents = [{"extension": "1001"}, {"extension": "1002", "label": "B"}, {"extension": "1003"}]
    widget_id = account_widget(app, owner.account_id, agents=agents)
    page = editor(client, widget_id)
    assert 'value="agents__up__0"' not in page  # the first row cannot go higher
    moved = post(client, widget_id, inputs(page), action="agents__up__1")
    assert moved.status_code == 200
    page = moved.get_data(as_text=True)
    values = inputs(page)
    assert [values[f"agents__{i}__extension"] for i in range(3)] == ["1002", "1001", "1003"]
    assert values["agents__0__label"] == "B" and values["agents__1__label"] == ""
    assert "autofocus" in tag(page, "agents__0__extension")
    moved = post(client, widget_id, values, action="agents__down__1")
    values = inputs(moved.get_data(as_text=True))
    assert [values[f"agents__{i}__extension"] for i in range(3)] == ["1002", "1003", "1001"]
    assert stored(app, widget_id).agents == agents  # moving saved nothing
    assert post(client, widget_id, values).status_code == 303
    widget = stored(app, widget_id)
    assert [a["extension"] for a in widget.agents] == ["1002", "1003", "1001"]
    assert widget.extension == "1002"  # Kazoo clients see the first agent


def test_a_row_is_removed_by_its_checkbox_and_empty_rows_are_not_saved(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    agents = [{"extension": "1001"}, {"extension": "1002"}, {"extension": "1003"}]
    widget_id = account_widget(app, owner.account_id, agents=agents)
    values = inputs(editor(client, widget_id))
    values["agents__1__remove"] = "y"
    assert post(client, widget_id, values).status_code == 303
    assert stored(app, widget_id).agents == [{"extension": "1001"}, {"extension": "1003"}]


def test_a_refusal_lands_on_the_row_it_is_about_past_removed_rows(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    agents = [{"extension": "1001"}, {"extension": "1002"}, {"extension": "1003"}]
    widget_id = account_widget(app, owner.account_id, agents=agents)
    values = inputs(editor(client, widget_id))
    values.update({"agents__1__remove": "y", "agents__2__extension": "not a number"})
    refused = post(client, widget_id, values)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    # The saved list's second agent is the form's third row: the first was removed.
    assert "must be an extension, a number or a SIP URI" in error_on(page, "agents__2__extension")
    values = inputs(page)
    assert values["agents__2__extension"] == "not a number"  # what was typed stays
    assert "checked" in re.search(r'<input[^>]*name="agents__1__remove"[^>]*>', page).group(0)
    values = inputs(editor(client, widget_id))
    values["agents__0__business_hours__windows__tue"] = "18:00-09:00"
    page = post(client, widget_id, values).get_data(as_text=True)
    assert "ends at" in error_on(page, "agents__0__business_hours__windows__tue")
    values["agents__0__business_hours__windows__tue"] = "nine to five"
    page = post(client, widget_id, values).get_data(as_text=True)
    assert "09:00-17:00" in error_on(page, "agents__0__business_hours__windows__tue")
    assert stored(app, widget_id).agents == agents


def test_a_department_with_its_names_agents_and_hours_is_saved(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = account_widget(app, owner.account_id)
    page = editor(client, widget_id)
    assert "<legend>Departments</legend>" in page and 'name="departments"' not in page
    values = inputs(page)
    assert values["departments__0__key"] == "" and values["departments__0__names__he"] == ""
    values.update(
        {
            "departments__0__key": "sales",
            "departments__0__names__en": "Sales",
            "departments__0__names__he": "מכירות",
            "departments__0__agents__0__extension": "2001",
            "departments__0__agents__0__label": "Dana",
            "departments__0__business_hours__windows__fri": "09:00-13:00",
        }
    )
    shown = post(client, widget_id, values, action="departments__0__agents__add")
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert "autofocus" in tag(page, "departments__0__agents__1__extension")
    values = inputs(page)
    values["departments__0__agents__1__extension"] = "2002"
    moved = post(client, widget_id, values, action="departments__0__agents__up__1")
    values = inputs(moved.get_data(as_text=True))
    assert values["departments__0__agents__0__extension"] == "2002"
    assert post(client, widget_id, values).status_code == 303
    assert stored(app, widget_id).departments == [
        {
            "key": "sales",
            "names": {"en": "Sales", "he": "מכירות"},
            "agents": [{"extension": "2002"}, {"extension": "2001", "label": "Dana"}],
            "business_hours": {"windows": {"fri": [["09:00", "13:00"]]}},
        }
    ]
    values = inputs(editor(client, widget_id))
    values.update(
        {
            "departments__1__key": "support",
            "departments__1__names__fr": "Assistance",
            "departments__1__agents__0__extension": "3001",
        }
    )
    # Departments move as a whole, their agents with them.
    moved = post(client, widget_id, values, action="departments__down__0")
    values = inputs(moved.get_data(as_text=True))
    assert values["departments__0__key"] == "support"
    assert values["departments__1__agents__0__extension"] == "2002"
    assert post(client, widget_id, values).status_code == 303
    assert [d["key"] for d in stored(app, widget_id).departments] == ["support", "sales"]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            {"departments__0__agents__1__extension": "x"},
            "departments__0__agents__1__extension",
            "must be an extension",
        ),
        (
            {"departments__0__names__en": ""},
            "departments__0__names__en",
            "names by language",
        ),
        (
            {
                "departments__0__agents__0__extension": "",
                "departments__0__agents__1__extension": "",
            },
            "departments__0__agents__0__extension",
            "at least one agent",
        ),
        ({"departments__0__key": "Sales Team"}, "departments__0__key", "lower-case"),
        (
            {
                "departments__1__key": "sales",
                "departments__1__names__en": "Again",
                "departments__1__agents__0__extension": "4001",
            },
            "departments__1__key",
            "used twice",
        ),
    ],
)
def test_a_department_refusal_lands_on_its_field(
    client: FlaskClient,
    owner: Member,
    app: Flask,
    changes: dict[str, str],
    field: str,
    reason: str,
) -> None:
    departments = [
        {
            "key": "sales",
            "names": {"en": "Sales"},
            "agents": [{"extension": "2001"}, {"extension": "2002"}],
        }
    ]
    widget_id = account_widget(app, owner.account_id, departments=departments)
    values = {**inputs(editor(client, widget_id)), **changes}
    refused = post(client, widget_id, values)
    assert refused.status_code == 400
    assert reason in error_on(refused.get_data(as_text=True), field)
    assert stored(app, widget_id).departments == departments


def test_domain_paths_name_the_form_row_they_came_from() -> None:
    """A provider's reason arrives by path (`departments.0.agents.1.extension`), not in the
    reason's text: it still lands on the form row that saved item came from."""
    departments = agent_editors.DepartmentsEditor("departments", "Departments")
    departments.prepare([], None)
    departments.count = 3
    departments.prepare_rows([], None)
    departments.kept = [0, 2]  # the form's second row was removed
    departments.agent_rows[2].count = 3
    departments.agent_rows[2].kept = [1, 2]
    assert (
        departments.error_field("departments.1.agents.0.extension", "cannot ring it")
        == "departments__2__agents__1__extension"
    )
    assert (
        departments.error_field("departments.1.business_hours.windows.mon", "ends before")
        == "departments__2__business_hours__windows__mon"
    )
    agents = agent_editors.AgentsEditor("agents", "Agents")
    agents.prepare([{"extension": "1"}, {"extension": "2"}], None)
    agents.kept = [1]
    assert agents.error_field("agents.0.extension", "why") == "agents__1__extension"
    assert agents.error_field("agents", "must be a list of at most 20 agents") == (
        "agents__1__extension"
    )


def test_rows_are_capped_whatever_a_submission_claims(
    client: FlaskClient, owner: Member, app: Flask
) -> None:
    widget_id = account_widget(app, owner.account_id)
    values = inputs(editor(client, widget_id))
    values["agents__5000__extension"] = "1009"
    page = post(client, widget_id, values, action="agents__add").get_data(as_text=True)
    assert 'id="agents__19__extension"' in page and 'id="agents__20__extension"' not in page
    assert 'value="agents__add"' not in page  # full: no "Add another"


def test_a_viewer_sees_agents_and_departments_read_only_with_numbers_masked(
    client: FlaskClient, app: Flask
) -> None:
    owner = sign_in(client)
    widget_id = account_widget(
        app,
        owner.account_id,
        agents=[{"extension": "+27821234567", "label": "Desk 4455"}, {"extension": "1002"}],
        departments=[
            {
                "key": "sales",
                "names": {"en": "Sales"},
                "agents": [{"extension": "+27831112233"}],
            }
        ],
    )
    viewer = app.test_client()
    sign_in(viewer, Role.VIEWER, account_id=owner.account_id)
    page = viewer.get(f"/dashboard/widgets/{widget_id}").get_data(as_text=True)
    main = page.split('<main id="main"', 1)[1]
    assert not re.search(r"<(input|textarea|select|button)", main), "an edit control for a viewer"
    for number in ("+27821234567", "+27831112233", "4455", "1002"):
        assert number not in main, number
    assert "+27 82 ••• ••67" in main and "+27 83 ••• ••33" in main and "Desk ••55" in main
    assert "<legend>Agent 2</legend>" in main and "<legend>Agent 3</legend>" not in main
    assert "Sales" in main and "Move up" not in main and "Add another" not in main
