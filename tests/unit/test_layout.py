"""The package's layout holds: no import circle, and each subpackage imports only the layers its docstring allows.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING`` alike (a circle hidden behind
``TYPE_CHECKING`` is still two modules that cannot be understood apart). The README's layout table is checked
against the tree, so neither can move without the other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGE = PROJECT_DIR / "circuit_breaker"

#: What each subpackage may import of the package (besides itself); the subpackages' docstrings say the same.
ALLOWED = {
    "core": set(),
    "aws": {"core"},
    "client": {"core", "aws"},
    "operate": {"core", "aws", "client"},
    "cdk": {"core", "lambdas"},
    "lambdas": {"core"},
    "local": {"core", "aws", "cdk", "client", "operate"},
    "cli": {"core", "aws", "client", "operate", "local", "cdk"},
}
#: Modules at the package's root: its face, the ``breaker`` entry point, and the documented import paths of 0.1.
ROOT_MODULES = {"__init__", "__main__", "errors", "connection", "extension_client", "open_circuits", "redrive"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports, wherever the import statement is."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), ignoring a package's import of its own
    modules' faces: ``circuit_breaker.cdk`` importing ``circuit_breaker.cdk.construct`` is how a face works."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def without_faces(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges from a module to a package face are kept; a face's own edges into its package are dropped (a face
    re-exports, it never is what a module of its package needs)."""
    faces = {m for m in edges if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    return {m: {t for t in targets if not (m in faces and t.startswith(m + "."))} for m, targets in edges.items()}


def test_no_module_of_the_package_is_part_of_an_import_circle() -> None:
    assert cycles(without_faces(graph())) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


@pytest.mark.parametrize("subpackage", sorted(ALLOWED))
def test_each_subpackage_imports_only_the_layers_it_may(subpackage: str) -> None:
    refused = []
    for module, targets in graph().items():
        if layer(module) != subpackage:
            continue
        for target in targets:
            other = layer(target)
            if other is None and target != "circuit_breaker":
                refused.append(f"{module} -> {target} (a root module)")
            elif other not in (subpackage, None) and other not in ALLOWED[subpackage]:
                refused.append(f"{module} -> {target}")
    assert refused == []


def test_the_package_root_holds_only_its_face_and_the_documented_paths() -> None:
    assert {p.stem for p in PACKAGE.glob("*.py")} == ROOT_MODULES
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(ALLOWED)


def test_every_subpackage_says_what_lives_there_and_what_it_may_import() -> None:
    for subpackage in ALLOWED:
        docstring = ast.get_docstring(ast.parse((PACKAGE / subpackage / "__init__.py").read_text())) or ""
        assert "import" in docstring, f"circuit_breaker/{subpackage}/__init__.py does not say what it may import"


def test_the_readme_layout_table_names_every_folder_of_the_tree() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    table = readme[readme.index("## Layout") :]
    table = table[: table.index("\n## ", 4)] if "\n## " in table[4:] else table
    named = set(re.findall(r"`((?:[\w.-]+/)+)`", table))
    tree = {f"circuit_breaker/{d}/" for d in ALLOWED} | {"stacks/", "statemachine/", "lambdas/", "tools/parity/", "tools/e2e/", "tools/snapshot/", "tests/", "benchmarks/", "docs/"}
    assert tree <= named, f"the README's layout table misses {sorted(tree - named)}"
    for folder in named:  # a folder named inside a row is relative to the row's folder
        assert any((PROJECT_DIR / base / folder).is_dir() for base in ("", *tree)), f"the README's layout table names {folder}, which is not in the tree"
