"""The package's layout, read from the source text (nothing is imported or trained).

- The subpackages of ``lsra_fairseq`` import each other without a cycle at module level, so each
  can be read (and imported) on top of the ones below it; a top-level module such as
  ``lsra_fairseq/plugin.py`` counts as one node of its own.
- ``lsra_fairseq.modules`` needs PyTorch alone: no fairseq, and nothing of the package outside it.
- The user-facing text (the READMEs, the recipes' make files and configs) cites the paper, not a
  specification outside the repository, and names no path beside the clone (``../shared``).
"""
import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "lsra_fairseq"
FAIRSEQ = ("fairseq", "fairseq_cli")
USER_FACING = ["README.md", "examples/**/README.md", "examples/**/*.mk", "examples/**/*.yaml"]
NOT_IN_USER_TEXT = {"a path beside the clone": re.compile(r"\.\./shared\b"),
                    "a reference to the spec": re.compile(r"\bspec\s*§")}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module_level: bool):
    """The absolute names of the modules ``path`` imports (for ``from X import a``: X and X.a, as
    a may be a module). With ``module_level``, only what runs on import: not in functions."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]

    def visit(node):
        if module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))


def layout_nodes() -> set:
    """The subpackages of the package and its top-level modules (plugin, resume, ...)."""
    return ({path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
            | {path.parent.name for path in PACKAGE.glob("*/__init__.py")})


def node_of(module: str, nodes: set):
    """The layout node a module of the package belongs to; None outside the package (and for the
    package itself, or a name its __init__ defines)."""
    parts = module.split(".")
    if parts[0] == PACKAGE.name and len(parts) > 1 and parts[1] in nodes:
        return parts[1]
    return None


def subpackage_graph(paths, nodes: set) -> dict:
    """{node: {the other nodes it imports at module level}} over the given source files."""
    graph = {}
    for path in paths:
        source = node_of(module_name(path), nodes) or "__init__"
        targets = {node_of(name, nodes) for name in imported_modules(path, module_level=True)}
        graph.setdefault(source, set()).update(targets - {source, None})
    return graph


def find_cycle(graph: dict):
    """One cycle of ``graph`` as [a, b, ..., a], or None when it is acyclic."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) is None


def test_no_import_cycle_between_subpackages():
    graph = subpackage_graph(sorted(PACKAGE.rglob("*.py")), layout_nodes())
    assert {"modules", "models", "plugin"} <= set(graph)  # the parse saw the package
    cycle = find_cycle(graph)
    assert cycle is None, "module-level import cycle between subpackages: " + " -> ".join(cycle)


def test_modules_need_pytorch_alone():
    """Every import in lsra_fairseq/modules, function-local ones included."""
    offending = {}
    for path in sorted((PACKAGE / "modules").rglob("*.py")):
        for name in imported_modules(path, module_level=False):
            top = name.split(".")[0]
            if top in FAIRSEQ or top == PACKAGE.name and not (name + ".").startswith(f"{PACKAGE.name}.modules."):
                offending.setdefault(str(path.relative_to(REPO)), set()).add(name)
    assert not offending, f"lsra_fairseq.modules imports fairseq or the rest of the package: {offending}"


def user_facing_files():
    return sorted({path for pattern in USER_FACING for path in REPO.glob(pattern)})


@pytest.mark.parametrize("path", user_facing_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_user_facing_text_cites_the_paper_and_no_local_paths(path):
    found = [f"line {number}: {what}: {line.strip()}"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for what, pattern in NOT_IN_USER_TEXT.items() if pattern.search(line)]
    assert not found, "\n".join(found)
