"""The import direction is adapters → bot → knowledge, and only adapters/ touch chat SDKs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAT_SDKS = {"slack_bolt", "slack_sdk", "discord"}


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
    [("knowledge", {"bot", "adapters", *CHAT_SDKS}), ("bot", {"adapters", *CHAT_SDKS})],
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
