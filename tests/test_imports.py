"""The package's imports, read from its source (ast): no module imports another that imports it back, directly or
around a loop, and imports sit at the top of modules (at most 10 inside functions, each with its reason)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"
MAX_FUNCTION_IMPORTS = 10


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(node: ast.AST, importer: str) -> list[str]:
    """The package's modules that an import statement (or a lazy_import("...") call) names."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from .x import y
            base = ".".join(importer.split(".")[:-node.level] + ([base] if base else []))
        # `from pkg import sub` imports the module pkg.sub; `from pkg import name` the package's __init__
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_import" and node.args \
            and isinstance(node.args[0], ast.Constant):
        names = [node.args[0].value]  # imported later, but a dependency all the same
    else:
        return []
    return [m for n in names if n in MODULES for m in _with_packages(n, importer) if m != importer]


def _with_packages(module: str, importer: str) -> list[str]:
    """`module` and the packages Python loads before it (their __init__), but for the importer's own packages,
    which are loaded already."""
    parts = module.split(".")
    packages = [".".join(parts[:i]) for i in range(1, len(parts))]
    return [module] + [p for p in packages if p in MODULES and not importer.startswith(p + ".")]


def _walk(tree: ast.AST):
    """Every node, except those under `if TYPE_CHECKING:` (annotations only: never imported at run time)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at the top, inside functions, or lazily)."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[name] = {m for node in _walk(tree) for m in _imported(node, name)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One loop of modules (a, b, ..., a) per strongly connected group of the graph (Tarjan)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_loop(graph, set(g)) for g in groups]


def _loop(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A path inside `group` from its first module back to it (breadth first: the shortest)."""
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    return sorted(group)


def function_imports() -> list[tuple[str, int, str, str]]:
    """(file, line, the import, its comment) of every import inside a function of the package."""
    found = []
    for path in MODULES.values():
        text = path.read_text()
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    line = lines[node.lineno - 1]
                    above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                    comment = line.partition("#")[2].strip() or (above[1:].strip() if above.startswith("#") else "")
                    found.append((str(path.relative_to(ROOT)), node.lineno, ast.unparse(node), comment))
    return found


def test_no_module_imports_one_that_imports_it_back():
    loops = cycles(import_graph())
    assert not loops, "import circles:\n" + "\n".join(" -> ".join(loop) for loop in loops)


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_sit_at_the_top_but_a_few_each_with_its_reason():
    found = function_imports()
    listing = "\n".join(f"{f}:{n}: {imp}  # {why}" for f, n, imp, why in found)
    assert len(found) <= MAX_FUNCTION_IMPORTS, f"{len(found)} imports inside functions:\n{listing}"
    assert all(why for *_, why in found), f"an import inside a function without its reason:\n{listing}"


def test_every_library_the_package_imports_is_a_declared_dependency():
    """`pip install -e .` in a fresh venv installs what the code imports: torchmetrics (every training run imports
    workbench.detect.map) was installed here by hand and missing from pyproject, so a new user's first run failed."""
    import importlib.metadata as md
    import re
    import sys
    import tomllib

    from packaging.requirements import Requirement

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = {norm(Requirement(r).name) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                ["dependencies"]}
    tops = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops.add(node.module.split(".")[0])
    dists = md.packages_distributions()
    third_party = tops - set(sys.stdlib_module_names) - {"workbench"}
    undeclared = {m: dists.get(m) for m in third_party if not {norm(d) for d in dists.get(m, [])} & declared}
    assert not undeclared, f"imported but not in pyproject's dependencies: {undeclared}"
