"""The package's shape: no import cycles, the request seen only by HTTP code, a small root.

The layer order itself is the import contract in pyproject.toml (`make lint` runs it);
these tests hold what a layers contract cannot: cycles inside one layer, and names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "widget_server"
# core is the app's plumbing (request ids in logs, request timing, the locale selector);
# the stages above it get what they need from a request as arguments.
DOMAIN = ("intake", "calls", "owners", "notify", "providers")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    # Tarjan's strongly connected components over the package's own modules.
    modules = sorted(m for m in graph.modules if m.startswith("widget_server"))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.find_modules_directly_imported_by(module):
            if not target.startswith("widget_server"):
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_loop() -> None:
    graph = grimp.build_graph("widget_server")
    # A package's __init__ importing its own modules inside a function (an app factory)
    # is not a loop of the code's own making: leave the package faces out.
    for face in ("widget_server", "widget_server.cli", "widget_server.web"):
        for target in list(graph.find_modules_directly_imported_by(face)):
            graph.remove_import(importer=face, imported=target)
    assert _cycles(graph) == []


def test_domain_code_never_reads_the_request() -> None:
    offenders = []
    for package in DOMAIN:
        for path in (PACKAGE / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module in ("flask", "werkzeug"):
                    names = {alias.name for alias in node.names}
                    if names & {"request", "Request", "session", "g"}:
                        offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(names)}")
    assert offenders == []


def test_the_package_root_holds_only_the_factory_and_the_job_wiring() -> None:
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "jobs.py"]


def _provider_classes() -> set[str]:
    """Name every class below Provider, the shared bases as well as the adapters."""
    from widget_server.providers import Provider

    found: set[str] = set()
    pending = list(Provider.__subclasses__())
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return found


def _adapter_modules() -> set[str]:
    from widget_server.providers import REGISTRY

    return {cls.__module__ for cls in REGISTRY.values()}


def _boundary_offences(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """List the imports of adapter modules and the isinstance checks on provider classes."""
    adapters = _adapter_modules()
    classes = _provider_classes()
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        imported: list[str] = []
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            # `from ..providers import twilio` names a module as much as `import …twilio`.
            imported = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        found += [(node.lineno, f"imports {name}") for name in imported if name in adapters]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
            and len(node.args) == 2
        ):
            target = node.args[1]
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            for name in names:
                spelled = name.attr if isinstance(name, ast.Attribute) else getattr(name, "id", "")
                if spelled in classes:
                    found.append((node.lineno, f"{node.func.id}(…, {spelled})"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_boundary_check_sees_what_it_forbids() -> None:
    source = (
        "from ..providers import twilio, base\n"
        "import widget_server.providers.kazoo\n"
        "from widget_server.providers.webhook import WebhookProvider\n"
        "isinstance(p, twilio.TwilioProvider)\n"
        "isinstance(p, (int, WebhookProvider))\n"
        "isinstance(p, Provider)\n"
    )
    assert _boundary_offences(source, "widget_server.calls.provider_events") == [
        "line 1: imports widget_server.providers.twilio",
        "line 2: imports widget_server.providers.kazoo",
        "line 3: imports widget_server.providers.webhook",
        "line 4: isinstance(…, TwilioProvider)",
        "line 5: isinstance(…, WebhookProvider)",
    ]


def test_only_providers_know_one_provider_from_another() -> None:
    # An adapter's quirks (its signature check, its event body) live in its own module,
    # behind the Provider hooks; the rest of the package reaches providers through the
    # registry (widget_server.providers) and the interface (providers.base) only.
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "providers":
            continue
        module = ".".join(("widget_server", *relative.with_suffix("").parts))
        is_package = path.name == "__init__.py"
        if is_package:
            module = module.removesuffix(".__init__")
        for offence in _boundary_offences(path.read_text(), module, is_package=is_package):
            offenders.append(f"{relative}: {offence}")
    assert offenders == []


def test_request_bodies_are_decoded_by_the_one_json_reader() -> None:
    # web/json_body.py refuses bodies nested too deep to decode; a view decoding a body
    # itself would let a thousand `[` exhaust the stack again.
    offenders = []
    for path in (PACKAGE / "web").rglob("*.py"):
        if path.name == "json_body.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            if (node.value.id, node.attr) in (
                ("request", "get_json"),
                ("request", "json"),
                ("json", "loads"),
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
