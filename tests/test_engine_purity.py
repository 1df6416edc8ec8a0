"""The engine is the pure core: it imports nothing of Flask, RQ, SQLAlchemy or Twilio."""

from __future__ import annotations

import ast
from pathlib import Path

import smsline.engine

ENGINE = Path(smsline.engine.__file__).parent
ALLOWED = {"__future__", "smsline", "ruamel", "simpleeval", "zipcodes"}
FORBIDDEN = {"flask", "rq", "redis", "sqlalchemy", "twilio", "werkzeug", "psycopg"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_imports_only_the_standard_library_and_pure_helpers() -> None:
    import sys

    for path in sorted(ENGINE.glob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            assert top in ALLOWED or top in sys.stdlib_module_names, f"{path.name} imports {name}"
            if top == "smsline":
                assert name.startswith("smsline.engine") or name in (
                    "smsline",
                    "smsline.segments",
                ), f"{path.name} imports {name}"
