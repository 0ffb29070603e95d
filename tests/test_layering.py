"""The import direction is adapters → bot → knowledge, only adapters/ touch chat SDKs, no
package imports itself in a circle, and the benchmarks stand apart from the tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAT_SDKS = {"slack_bolt", "slack_sdk", "discord"}
# Dev-only code the shipped packages never import.
DEV_ONLY = {"tests", "bench", "fakes", "evaluation"}
PACKAGES = ("adapters", "bot", "knowledge", "fakes", "bench", "evaluation")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("knowledge", {"bot", "adapters", *CHAT_SDKS, *DEV_ONLY}),
        ("bot", {"adapters", *CHAT_SDKS, *DEV_ONLY}),
        ("adapters", DEV_ONLY),
        ("bench", {"tests"}),
        ("evaluation", {"adapters", "tests", "bench", "fakes", *CHAT_SDKS}),
        ("fakes", {"tests"}),
    ],
)
def test_packages_only_import_downwards(package: str, forbidden: set[str]) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & forbidden)
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & forbidden
    }
    assert offenders == {}


def _serves_http(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.startswith("aiohttp.web") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("aiohttp.web") or (node.module == "aiohttp" and any(a.name == "web" for a in node.names)):
                return True
    return False


@pytest.mark.parametrize("package", ["knowledge", "bot"])
def test_only_adapters_serve_http(package: str) -> None:
    """aiohttp's client is fine below adapters/ (the literature APIs); its server (aiohttp.web) is not."""
    assert [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py") if _serves_http(p)] == []


# ── cycles ────────────────────────────────────────────────────────────────
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports; `from pkg import name` means pkg.name when that is a module,
    else the package itself (whose `__init__` must then not import this module back)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in modules:
                    out.add(full)
                elif node.module in modules:
                    out.add(node.module)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_packages_and_their_modules() -> None:
    modules = _modules()
    graph = {name: _edges(path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_package_that_imports_itself_through_a_module() -> None:
    graph = {"pkg": {"pkg.a"}, "pkg.a": {"pkg"}, "other": set()}
    assert _cycles(graph) == [["pkg", "pkg.a"]]
