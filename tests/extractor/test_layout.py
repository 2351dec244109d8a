"""The extractor's module graph: the schema declares, validation validates, no import circle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXTRACTOR = Path(__file__).resolve().parents[2] / "extractor"


def runtime_imports(module: str) -> set[str]:
    """The extractor modules ``module`` imports at run time (anywhere in the file, functions
    included; an ``if TYPE_CHECKING:`` block is for type names only and does not count)."""
    tree = ast.parse((EXTRACTOR / f"{module}.py").read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            name = ("extractor." * (node.level > 0)) + (node.module or "")
            if name.startswith("extractor."):
                found.add(name.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("extractor.")}
    return found


@pytest.mark.parametrize("module", ["validation", "records", "summary", "types", "errors", "normalize"])
def test_schema_users_never_import_the_schema(module):
    assert "schema" not in runtime_imports(module)


def test_no_import_circle_among_schema_validation_records_summary():
    graph = {m: runtime_imports(m) for m in ("schema", "validation", "records", "summary", "types", "errors")}
    seen: list[str] = []

    def visit(m: str, path: tuple[str, ...]) -> None:
        assert m not in path, " -> ".join((*path, m))
        seen.append(m)
        for n in graph.get(m, ()):
            visit(n, (*path, m))

    visit("schema", ())
    assert {"validation", "summary", "records"} <= set(seen)


@pytest.mark.parametrize("first", ["validation", "records", "summary", "schema", "compare"])
def test_each_module_imports_on_its_own(first):
    code = f"import extractor.{first}, extractor.schema; print('ok')"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_field_types_are_defined_once():
    from connectors import parquet
    from extractor import schema

    assert parquet.FIELD_TYPES is schema.FIELD_TYPES
    root = EXTRACTOR.parent
    sources = [
        p
        for d in ("extractor", "connectors", "pipelines", "training", "jobs")
        for p in (root / d).rglob("*.py")
    ]
    defined = re.compile(r"^FIELD_TYPES\s*=", re.M)
    hits = [str(p.relative_to(root)) for p in sources if defined.search(p.read_text(encoding="utf-8"))]
    assert hits == ["extractor/schema.py"]


def _imported_packages(folder: str) -> set[str]:
    """Top-level packages imported anywhere (functions included) by the modules of ``folder``."""
    found: set[str] = set()
    for path in (EXTRACTOR.parent / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("extractor", {"connectors", "pipelines", "seqgpt", "training"}),
        ("connectors", {"pipelines", "seqgpt", "training"}),
        ("pipelines", {"seqgpt", "training"}),
    ],
)
def test_data_flows_one_way(folder, forbidden):
    """extractor <- connectors <- pipelines <- seqgpt (front-ends); training beside them."""
    assert not (_imported_packages(folder) & forbidden)
