"""The tests' own layout rule: helpers live in tests/support/ (or a folder's conftest or
helper module), never in a `test_*.py` module that other modules import from."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(source: str) -> list[str]:
    """Every module a Python source imports from, absolute or relative, as written."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
            found.extend(alias.name for alias in node.names)  # `from tests.x import test_y`
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def imports_a_test_module(source: str) -> list[str]:
    return [
        name
        for name in imported_modules(source)
        if any(part.startswith("test_") for part in name.lstrip(".").split("."))
    ]


def test_the_rule_catches_every_way_of_importing_a_test_module() -> None:
    assert imports_a_test_module("from tests.market.test_exchanges import propose") == [
        "tests.market.test_exchanges"
    ]
    assert imports_a_test_module("from .test_exchanges import propose") == [".test_exchanges"]
    assert imports_a_test_module("import tests.market.test_exchanges") == [
        "tests.market.test_exchanges"
    ]
    assert imports_a_test_module("from tests.market import test_exchanges") == ["test_exchanges"]
    assert imports_a_test_module("from tests.support.exchanges import propose") == []


def test_no_test_module_imports_helpers_from_another_test_module() -> None:
    offenders = {
        str(path.relative_to(TESTS)): names
        for path in sorted(TESTS.rglob("*.py"))
        if (names := imports_a_test_module(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "move these helpers into tests/support/ or a conftest"
    assert len(list(TESTS.rglob("test_*.py"))) > 50  # the walk did find the suite
