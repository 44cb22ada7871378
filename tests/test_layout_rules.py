"""The layout's rules (docs/architecture.md), checked on every module so that the shape cannot rot.

Small rooms: no product module above 600 lines and no class above 300. Imports at the top: a function-level
import is how an import cycle gets hidden, so only the few documented exceptions below may have one. The import
direction itself is checked by import-linter (`.importlinter`, run by `make lint`). And the architecture page
names only modules that exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("accounts", "products", "orders", "kadouri", "qbo_integration", "loadtest")
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 300
# Function-level imports that hide no cycle, each for a reason Django or a library imposes.
LATE_IMPORTS_ALLOWED = {
    "orders/apps.py": "AppConfig.ready() registers the system checks once the app registry is loaded",
    "qbo_integration/apps.py": "AppConfig.ready() registers the system checks and tells the money display the "
    "company's home currency once the app registry is loaded",
}


def _product_modules() -> list[Path]:
    found = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            found.append(path)
    return found


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_rule_sees_every_product_package():
    names = {_name(p) for p in _product_modules()}
    assert "qbo_integration/outbound/runners.py" in names and "loadtest/soak/cli.py" in names
    assert not any("/tests/" in n for n in names)


def test_no_product_module_is_longer_than_600_lines():
    long = {_name(p): n for p in _product_modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules by responsibility (docs/architecture.md): {long}"


def test_no_class_is_longer_than_300_lines():
    long = {}
    for path in _product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                long[f"{_name(path)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long, f"give these classes collaborators (the emulator's parts show how): {long}"


def _late_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.append(f"{_name(path)}:{inner.lineno}")
    return found


def test_product_code_imports_at_the_top_of_its_modules():
    late = [hit for p in _product_modules() if _name(p) not in LATE_IMPORTS_ALLOWED for hit in _late_imports(p)]
    assert not late, f"move these imports to the top of their module (a cycle means a layer is wrong): {late}"


def test_every_allowed_late_import_is_still_needed():
    for name in LATE_IMPORTS_ALLOWED:
        assert _late_imports(ROOT / name), f"{name} has no function-level import any more: drop it from the list"


ARCHITECTURE = ROOT / "docs" / "architecture.md"
MODULE_PATH = re.compile(r"`((?:accounts|products|orders|kadouri|qbo_integration|loadtest|templates|tests)/[\w/.]*)`")


def test_the_architecture_page_names_only_modules_that_exist():
    named = MODULE_PATH.findall(ARCHITECTURE.read_text())
    assert len(named) > 30, "the map should name the modules it describes"
    missing = sorted({n for n in named if not (ROOT / n.rstrip("/")).exists()})
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
