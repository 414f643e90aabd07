"""The package's shape: no import cycle, the library never imports the CLI, registrations are explicit.

Read from the source with :mod:`ast` (nothing is imported), so a failure names the
modules and lines to look at.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

PACKAGE = "dash_core"
ROOT = Path(importlib.util.find_spec(PACKAGE).origin).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Package modules named by an import statement in ``module`` (``from a import b`` may name module ``a.b``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module.split(".")
            if MODULES[module].name != "__init__.py":
                pkg = pkg[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join([*pkg, base] if base else pkg)
        names = [base] + [f"{base}.{a.name}" for a in node.names]
    out = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith(PACKAGE + ".") and name != module:
            out.append(name)
    return out


def _imports(module: str, *, top_level_only: bool) -> dict[str, int]:
    """``imported module -> line`` of the imports in ``module`` (top level: run at import time, not TYPE_CHECKING)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: dict[str, int] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _resolve(module, node):
                    found.setdefault(name, node.lineno)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)

    if top_level_only:
        visit(tree.body)
    else:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _resolve(module, node):
                    found.setdefault(name, node.lineno)
    return found


def _is_cli(module: str) -> bool:
    parts = module.split(".")
    return parts[1:2] == ["cli"] or parts[-1] in ("cli", "__main__")


def test_no_import_cycle():
    graph = {m: set(_imports(m, top_level_only=True)) for m in MODULES}
    # a submodule import runs its package's __init__ first: keep those edges out (Python handles them),
    # but count every explicit import, including those of a package __init__ of its own submodules.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                dfs(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_library_never_imports_the_cli():
    offenders = []
    for m in MODULES:
        if _is_cli(m):
            continue
        for name, line in _imports(m, top_level_only=False).items():
            if _is_cli(name):
                offenders.append(f"{MODULES[m].relative_to(ROOT.parent)}:{line} imports {name}")
    assert not offenders, "library modules importing the command line: " + "; ".join(offenders)


def test_the_library_never_imports_argparse_outside_the_cli():
    """Argument parsing lives with the CLI; the job process's own entry point (runs/jobs.py main) is the exception."""
    allowed = {"dash_core.runs.jobs"}
    offenders = []
    for m, path in MODULES.items():
        if _is_cli(m) or m in allowed:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                offenders.append(f"{m}:{node.lineno}")
    assert not offenders, "argparse outside the CLI: " + ", ".join(offenders)


def test_job_kinds_are_registered_from_the_declared_table():
    """Job kinds come from ``runs.jobs.BUILTIN_JOB_KINDS``, not from side effects of importing a library module."""
    allowed = {"dash_core.runs.jobs", "dash_core.runs"}  # the registry itself
    offenders = []
    for m, path in MODULES.items():
        if m in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name in ("register_job_kind", "JOB_KINDS"):
                offenders.append(f"{m}:{node.lineno}")
    assert not offenders, "job kinds registered outside the declared table: " + ", ".join(offenders)
    from dash_core.runs.jobs import BUILTIN_JOB_KINDS, JOB_KINDS, load_job_kinds

    assert load_job_kinds() == {}
    assert set(BUILTIN_JOB_KINDS) <= set(JOB_KINDS.names())


#: Lines above which a module must say at its top why it is long.
MAX_LINES = 800


def test_long_modules_say_why_at_their_top():
    offenders = []
    for m, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "why this module is long" not in doc.lower():
            offenders.append(f"{m} ({text.count(chr(10))} lines)")
    assert not offenders, (f"modules over {MAX_LINES} lines without 'Why this module is long' in their docstring: "
                           + ", ".join(offenders))
