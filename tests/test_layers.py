"""Imports run one way: plain definitions -> people and access -> capture -> derived ->
interfaces -> config.

Every module of the apps is read with `ast` (imports inside functions included) and given a
layer by the first pattern below that matches its dotted name. A module may import its own
layer or a lower one, never a higher one, and no two modules may import each other, however
indirectly. `diary` (what is recorded) never imports `outcomes` (what is derived).
"""

import ast
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "diary", "outcomes", "exchange")

# Lowest first. Within a layer, the first matching pattern wins (order matters).
LAYERS: list[tuple[str, list[str]]] = [
    (
        "plain definitions",  # pure helpers and constants: no model, no database
        [
            "diary.language",
            "diary.csvsafe",
            "diary.instruments",
            "diary.doses",
            "diary.growth",
            "diary.assessments",
            "diary.twofactor",
        ],
    ),
    (
        "people and access",
        [
            "diary.models.people",
            "diary.models.children",
            "diary.models.access_log",
            "diary.access",
            "diary.invitations",
            "diary.tokens",
            "diary.security",
            "diary.middleware",
            "diary.webpush",
            "diary.emails",
        ],
    ),
    (
        "capture",
        [
            "diary.models",
            "diary.models.*",
            "diary.recording",
            "diary.recording.*",
            "diary.erasure",
            "diary.backups",
            "outcomes.models",
        ],
    ),
    (
        "derived",
        [
            "diary.day",
            "diary.history",
            "diary.synthetic",
        ],
    ),
    (
        "interfaces",
        [
            "*.views",
            "*.views.*",
            "*_views",
            "*.api",
            "*.api.*",
            "*.management",
            "*.management.*",
            "*.tasks",
            "*.templatetags",
            "*.templatetags.*",
            "*.forms",
            "*.admin",
            "*.apps",
            "*.signals",
            "diary.pwa",
            "exchange",
            "exchange.*",
        ],
    ),
    ("config", ["config", "config.*"]),
]
# Whatever is left in outcomes/ is derived (phases, statistics, labs, schedule, reminders...).
DEFAULT = {"outcomes": "derived", "diary": None, "config": "config", "exchange": "interfaces"}

# (importer, imported): reason. Keep it empty or tiny.
ALLOWED: dict[tuple[str, str], str] = {}

RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts:
                continue
            name = ".".join(rel.with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = modules()


def _empty_package(module: str) -> bool:
    path = MODULES.get(module)
    if path is None or path.name != "__init__.py":
        return False
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def layer(module: str) -> str:
    if _empty_package(module):
        return LAYERS[0][0]  # an empty package imports nothing: it fits under anything
    priority = ["interfaces", "config"]  # an app's views/api/commands first, wherever they live
    ordered = [(n, p) for n, p in LAYERS if n in priority] + [
        (n, p) for n, p in LAYERS if n not in priority
    ]
    for name, patterns in ordered:
        if any(fnmatchcase(module, pattern) for pattern in patterns):
            return name
    found = DEFAULT.get(module.split(".")[0])
    if found is None:
        raise AssertionError(f"{module} has no layer: add it to LAYERS in tests/test_layers.py")
    return found


def _owner(name: str) -> str | None:
    """The project module NAME lives in (a name imported from a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> list[tuple[str, int]]:
    """(imported project module, line) for every import in MODULE, at any depth."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            owner = _owner(target)
            if owner and owner != module and (owner, node.lineno) not in found:
                found.append((owner, node.lineno))
    return found


GRAPH = {module: imports(module) for module in MODULES}


def where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(ROOT)}:{line}"


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


def test_no_import_runs_to_a_higher_layer():
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        for target, line in targets:
            if RANK[layer(target)] > RANK[layer(module)] and (module, target) not in ALLOWED:
                wrong.append(
                    f"{where(module, line)}: {module} ({layer(module)}) imports "
                    f"{target} ({layer(target)})"
                )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_diary_never_imports_outcomes_or_exchange():
    wrong = [
        f"{where(module, line)}: {module} imports {target}"
        for module, targets in sorted(GRAPH.items())
        if module.startswith("diary.")
        for target, line in targets
        if target.split(".")[0] in ("outcomes", "exchange")
    ]
    assert not wrong, "diary/ reaches up:\n" + "\n".join(wrong)


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _ in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    lines = []
    for component in cycles():
        members = set(component)
        lines.append(" <-> ".join(component))
        for module in component:
            for target, line in GRAPH[module]:
                if target in members:
                    lines.append(f"    {where(module, line)}: {module} imports {target}")
    assert not lines, "import cycles:\n" + "\n".join(lines)


def test_tasks_queued_by_name_exist():
    """Derived modules queue work by task name (they may not import tasks.py): each name
    they use is a registered task."""
    from config.celery import app
    from outcomes import queueing

    app.loader.import_default_modules()
    for name in queueing.TASKS:
        assert name in app.tasks, name


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("diary.models.people", "people and access"),
        ("diary.views", "interfaces"),
        ("diary.entry_views", "interfaces"),
        ("outcomes.api.views", "interfaces"),
        ("outcomes.tasks", "interfaces"),
        ("outcomes.reminders", "derived"),
        ("outcomes.models", "capture"),
        ("config.urls", "config"),
    ],
)
def test_layer_patterns(module, expected):
    assert layer(module) == expected
