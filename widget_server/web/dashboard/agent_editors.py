"""The editors of a widget's agents and departments: one row per agent or department.

Rows work without JavaScript: the page always has one empty row to fill, "Add another"
re-renders the form with one more, "Move up" and "Move down" re-render it with two rows
swapped (the order is the order an `ordered` widget rings them in), and a row is removed by
its checkbox when the form is saved. Rows left empty are not saved.

A row's place in the form is not its place in the saved list (removed and empty rows drop
out), so each editor remembers which form row each list item came from: the domain's
reasons (`agents.1.extension`, `departments.0.agents.2.label`) land on the row they are about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Field, StringField

from ...core.i18n import SUPPORTED_LOCALES
from ...owners.property_checks import MAX_AGENTS, MAX_DEPARTMENTS
from .widget_editors import SEP, Editor, HoursEditor, TextsEditor

ADD, UP, DOWN, REMOVE = "add", "up", "down", "remove"


def swapped(formdata: Any, first: str, second: str) -> MultiDict[str, Any]:
    """The submission with every field of two rows (by their name prefixes) exchanged."""
    result: MultiDict[str, Any] = MultiDict()
    for key, values in formdata.lists():
        if key.startswith(first):
            key = second + key[len(first) :]
        elif key.startswith(second):
            key = first + key[len(second) :]
        result.setlist(key, values)
    return result


def path_of(key: str, reason: str) -> list[str]:
    """The parts of a domain reason's path below the property: `agents.1.extension` or,
    for a shape check that names only the property, the reason's own `1.extension: …`."""
    if "." in key:
        return key.split(".")[1:]
    head = reason.split(":", 1)[0]
    return head.split(".") if re.fullmatch(r"[0-9]+(\.[a-z_0-9]+)*", head) else []


class RowsEditor(Editor):
    """A list property edited as rows of the same parts; subclasses say what a row holds."""

    limit = MAX_AGENTS
    first_part = "extension"  # the row's field that takes the focus and unplaced reasons

    def __init__(self, prop: str, label: Any, help: Any = "") -> None:
        super().__init__(prop, label, help)
        self.count = 1
        self.stored = 0  # rows holding a stored item: all a viewer is shown
        self.kept: list[int] = []  # the form row of each saved item, in order
        self.focus: str | None = None  # the field to focus after rows were added or moved

    def row(self, index: int, part: str = "") -> str:
        return self.name(f"{index}{SEP}{part}" if part else str(index))

    def action(self, what: str, index: int | None = None) -> str:
        """The value of the submit button that adds a row or moves row `index`."""
        return self.name(what if index is None else f"{what}{SEP}{index}")

    def prepare(self, current: Any, formdata: Any) -> Any:
        items = current if isinstance(current, list) else []
        self.stored = min(len(items), self.limit)
        if formdata is None:
            self.count = min(len(items) + 1, self.limit)
            return self.prepare_rows(items, None)
        found = re.compile(re.escape(self.name()) + SEP + r"([0-9]+)" + SEP)
        indexes = [int(m.group(1)) for key in formdata if (m := found.match(key))]
        self.count = min(max(indexes, default=-1) + 1, self.limit) or 1
        asked = formdata.get("action", "")
        if asked == self.action(ADD):
            # Full, no row is added; the page still comes back unsaved, as asked.
            self.count = min(self.count + 1, self.limit)
            self.focus = self.row(self.count - 1, self.first_part)
        moved = re.fullmatch(
            re.escape(self.name()) + SEP + f"({UP}|{DOWN})" + SEP + "([0-9]+)", asked
        )
        if moved:
            index = int(moved.group(2))
            other = index - 1 if moved.group(1) == UP else index + 1
            if 0 <= index < self.count and 0 <= other < self.count:
                formdata = swapped(formdata, self.row(index) + SEP, self.row(other) + SEP)
                self.focus = self.row(other, self.first_part)
        return self.prepare_rows(items, formdata)

    def prepare_rows(self, items: list[Any], formdata: Any) -> Any:
        """Size what each row holds (a department's agent rows); return the submission."""
        return formdata

    def shown(self, editing: bool) -> range:
        """The rows on the page: every row to an editor, the stored ones to a viewer."""
        return range(self.count if editing else self.stored)

    def can_add(self) -> bool:
        return self.count < self.limit

    def fields(self) -> dict[str, Field]:
        fields: dict[str, Field] = {}
        for index in range(self.count):
            fields.update(self.row_fields(index))
            fields[self.row(index, REMOVE)] = BooleanField(_l("Remove"))
        return fields

    def initial(self, value: Any) -> dict[str, Any]:
        items = value if isinstance(value, list) else []
        found: dict[str, Any] = {}
        for index, item in enumerate(items[: self.count]):
            found.update(self.row_initial(index, item if isinstance(item, dict) else {}))
        return found

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        items, self.kept = [], []
        for index in range(self.count):
            if data.get(self.row(index, REMOVE)):
                continue
            item = self.row_value(index, data, formdata)
            if item:
                items.append(item)
                self.kept.append(index)
        return items

    def error_field(self, key: str, reason: str) -> str:
        return self.locate(path_of(key, reason))

    def locate(self, path: list[str]) -> str:
        """The field for a path into the saved list (`["1", "extension"]`)."""
        if not path or not path[0].isdigit() or int(path[0]) >= len(self.kept):
            return self.row(self.kept[0] if self.kept else 0, self.first_part)
        return self.locate_in_row(self.kept[int(path[0])], path[1:])

    def locate_in_row(self, index: int, path: list[str]) -> str:
        names = self.fields()
        for length in range(len(path), 0, -1):
            candidate = self.row(index, SEP.join(path[:length]))
            if candidate in names:
                return candidate
            inside = [name for name in names if name.startswith(candidate + SEP)]
            if inside:
                return inside[0]
        return self.row(index, self.first_part)

    def row_fields(self, index: int) -> dict[str, Field]:
        raise NotImplementedError

    def row_initial(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def row_value(self, index: int, data: Mapping[str, Any], formdata: Any) -> dict[str, Any]:
        raise NotImplementedError


def _text(data: Mapping[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()


class AgentsEditor(RowsEditor):
    """Agents: an extension or number, a label, and optionally hours of their own."""

    def hours(self, index: int) -> HoursEditor:
        return HoursEditor(
            self.row(index, "business_hours"), _l("Own business hours"), scheduling=False
        )

    def row_fields(self, index: int) -> dict[str, Field]:
        return {
            self.row(index, "extension"): StringField(
                _l("Extension or number"),
                description=_l("A number such as +27821234567, an extension or a SIP URI."),
                render_kw={"dir": "ltr", "autocomplete": "off"},
            ),
            self.row(index, "label"): StringField(
                _l("Label"), description=_l("Optional: a name your team knows, e.g. Front desk.")
            ),
            **self.hours(index).fields(),
        }

    def row_initial(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        return {
            self.row(index, "extension"): item.get("extension") or "",
            self.row(index, "label"): item.get("label") or "",
            **self.hours(index).initial(item.get("business_hours")),
        }

    def row_value(self, index: int, data: Mapping[str, Any], formdata: Any) -> dict[str, Any]:
        agent: dict[str, Any] = {}
        hours = self.hours(index).value(data, formdata, None)
        extension, label = (
            _text(data, self.row(index, "extension")),
            _text(data, self.row(index, "label")),
        )
        if not (extension or label or hours):
            return {}
        agent["extension"] = extension  # an empty one is refused by the domain, on this row
        if label:
            agent["label"] = label
        if hours:
            agent["business_hours"] = hours
        return agent

    def hours_fields(self, index: int) -> list[str]:
        return list(self.hours(index).fields())

    def has_hours(self, form: Any, index: int) -> bool:
        """Whether the row's hours hold anything (or an error): their part of the page opens."""
        return any(form[name].data or form[name].errors for name in self.hours_fields(index))


class DepartmentsEditor(RowsEditor):
    """Departments: a key, a name per language, agents of their own, and optional hours."""

    limit = MAX_DEPARTMENTS
    first_part = "key"

    def __init__(self, prop: str, label: Any, help: Any = "") -> None:
        super().__init__(prop, label, help)
        self.agent_rows: list[AgentsEditor] = []

    def prepare_rows(self, items: list[Any], formdata: Any) -> Any:
        self.agent_rows = []
        for index in range(self.count):
            agents = AgentsEditor(self.row(index, "agents"), _l("Agents of this department"))
            item = items[index] if index < len(items) and isinstance(items[index], dict) else {}
            # Its own agent rows may have been added to or moved, too.
            formdata = agents.prepare(item.get("agents"), formdata)
            self.focus = self.focus or agents.focus
            self.agent_rows.append(agents)
        return formdata

    def hours(self, index: int) -> HoursEditor:
        return HoursEditor(
            self.row(index, "business_hours"), _l("Own business hours"), scheduling=False
        )

    def name_field(self, index: int, language: str) -> str:
        return self.row(index, f"names{SEP}{language}")

    def row_fields(self, index: int) -> dict[str, Field]:
        fields: dict[str, Field] = {
            self.row(index, "key"): StringField(
                _l("Key"),
                description=_l("1 to 32 lower-case letters, digits, - or _, e.g. sales."),
                render_kw={"dir": "ltr", "autocomplete": "off"},
            ),
        }
        for language in SUPPORTED_LOCALES:
            fields[self.name_field(index, language)] = StringField(
                TextsEditor.language_name(language), render_kw={"lang": language, "dir": "auto"}
            )
        fields.update(self.agent_rows[index].fields())
        fields.update(self.hours(index).fields())
        return fields

    def row_initial(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        names = item.get("names")
        names = names if isinstance(names, dict) else {}
        found = {self.row(index, "key"): item.get("key") or ""}
        for language in SUPPORTED_LOCALES:
            found[self.name_field(index, language)] = names.get(language) or ""
        found.update(self.agent_rows[index].initial(item.get("agents")))
        found.update(self.hours(index).initial(item.get("business_hours")))
        return found

    def row_value(self, index: int, data: Mapping[str, Any], formdata: Any) -> dict[str, Any]:
        key = _text(data, self.row(index, "key"))
        names = {
            language: _text(data, self.name_field(index, language))
            for language in SUPPORTED_LOCALES
            if _text(data, self.name_field(index, language))
        }
        agents = self.agent_rows[index].value(data, formdata, None)
        hours = self.hours(index).value(data, formdata, None)
        if not (key or names or agents or hours):
            return {}
        department: dict[str, Any] = {"key": key, "names": names, "agents": agents}
        if hours:
            department["business_hours"] = hours
        return department

    def locate_in_row(self, index: int, path: list[str]) -> str:
        if path[:1] == ["agents"]:
            return self.agent_rows[index].locate(path[1:])
        if path[:1] == ["names"]:
            return self.name_field(index, path[1] if len(path) > 1 else SUPPORTED_LOCALES[0])
        return super().locate_in_row(index, path)

    def hours_fields(self, index: int) -> list[str]:
        return list(self.hours(index).fields())

    def has_hours(self, form: Any, index: int) -> bool:
        return any(form[name].data or form[name].errors for name in self.hours_fields(index))
