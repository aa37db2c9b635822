"""The package's shape holds: each backend behind its door, imports one way, no cycles at run time."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "repo"

# Third-party libraries and the one module (or package) allowed to import each.
DOORS = {
    "duckdb": "repo.backends.sql",
    "pyarrow.parquet": "repo.backends.parquet",
    "git": "repo.backends.git",
    "dvc": "repo.backends.storage",
    "dvc_data": "repo.backends.storage",
    "dvc_objects": "repo.backends.storage",
    "great_expectations": "repo.checks.gxsuite",
}
# Lower layers never import upper ones.
LAYERS = [("repo.backends", {"repo.cli", "repo.ingest", "repo.checks", "repo.corrections", "repo.versions",
                             "repo.release", "repo.catalogue", "repo.requestor", "repo.provenance", "repo.verify",
                             "repo.repository"}),
          ("repo.repository", {"repo.cli", "repo.ingest", "repo.checks", "repo.corrections", "repo.versions",
                               "repo.release", "repo.catalogue", "repo.requestor", "repo.provenance",
                               "repo.verify"}),
          ("repo.release", {"repo.catalogue"})]  # the catalogue publishes and audits what releases made


def modules() -> dict[str, tuple[ast.Module, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if package else parts)
        found[name] = (ast.parse(path.read_text()), package)
    return found


def imports(name: str, tree: ast.Module, package: bool, known: set[str]) -> tuple[set[str], set[str]]:
    """(repo modules, third-party modules) that ``name`` imports at run time (not under TYPE_CHECKING)."""
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    base = name if package else name.rpartition(".")[0]
    ours, theirs = set(), set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                (ours if alias.name.startswith("repo.") else theirs).add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[:len(parts) - node.level + 1]
                absolute = ".".join(parts + ([node.module] if node.module else []))
            else:
                absolute = node.module or ""
            if not absolute.startswith("repo"):
                theirs.add(absolute)
                continue
            for alias in node.names:
                sub = f"{absolute}.{alias.name}"
                ours.add(sub if sub in known else absolute)
    ours.discard(name)
    return ours & known, theirs


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    found = modules()
    ours, theirs = {}, {}
    for name, (tree, package) in found.items():
        ours[name], theirs[name] = imports(name, tree, package, set(found))
    return ours, theirs


def test_each_backend_is_imported_behind_its_door():
    _, theirs = graph()
    strays = sorted((library, name) for name, libraries in theirs.items() for library in DOORS
                    for imported in libraries if imported == library or imported.startswith(f"{library}.")
                    if name != DOORS[library] and not name.startswith(f"{DOORS[library]}."))
    assert strays == []


def test_no_import_cycles_at_run_time():
    ours, _ = graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in ours[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                on.discard(w)
                component.append(w)
            on.discard(v)
            if component:
                cycles.append(sorted([v, *component]))

    for name in sorted(ours):
        if name not in index:
            visit(name)
    assert cycles == []


def test_imports_run_one_way():
    ours, _ = graph()
    upward = sorted((name, target) for name, targets in ours.items() for lower, uppers in LAYERS
                    if name == lower or name.startswith(f"{lower}.")
                    for target in targets for upper in uppers if target == upper or target.startswith(f"{upper}."))
    assert upward == []
