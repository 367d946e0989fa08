"""The apps import one another in one direction only, and tskr imports none of them (README, "Architecture").

Every module of every app is parsed (imports inside functions included, since a lazy import is still a
dependency); an import of an app that is not below the importing one in LAYERS fails with the
module, the line and the import. Test modules (`tests/`, and tskr/testing.py, the test client every
app's tests use) and migrations are not checked: tests exercise apps together, and a migration's
dependencies are Django's to order.
"""
import ast
from pathlib import Path

from django.conf import settings

#: Bottom first: an app may import the apps listed before it, never those after it.
LAYERS = ["tskr", "admin_catalog", "accounts", "directory", "calendars_app", "conversations", "tasks_app"]
NOT_CHECKED = {"tests", "migrations"}
TEST_SUPPORT = {Path("tskr/testing.py")}


def _modules(app: str):
    root = Path(settings.BASE_DIR)
    for path in sorted((root / app).rglob("*.py")):
        relative = path.relative_to(root)
        if NOT_CHECKED.isdisjoint(relative.parts) and relative not in TEST_SUPPORT:
            yield relative, ast.parse(path.read_text(), str(relative))


def _imported_apps(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".", 1)[0] in LAYERS:
                yield node.lineno, name


def _violations() -> list[str]:
    found = []
    for rank, app in enumerate(LAYERS):
        for path, tree in _modules(app):
            for line, name in _imported_apps(tree):
                target = name.split(".", 1)[0]
                if target != app and LAYERS.index(target) > rank:
                    found.append(f"{path}:{line} imports {name} ({app} is below {target})")
    return found


def test_every_app_is_in_the_layers():
    apps = {app.split(".", 1)[0] for app in settings.INSTALLED_APPS if (Path(settings.BASE_DIR) / app).is_dir()}
    assert apps == set(LAYERS)


def test_apps_import_only_the_apps_below_them():
    assert _violations() == []


def test_an_import_against_the_order_is_found_even_inside_a_function():
    tree = ast.parse("def f():\n    from conversations.engine import engine_status\n")
    assert list(_imported_apps(tree)) == [(2, "conversations.engine")]
