"""Imports flow one way: api → models → pipeline; pipeline imports nothing of ours above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT

FORBIDDEN = {"pipeline": {"api", "models"}, "models": {"api"}, "api": set()}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    files = sorted((PROJECT_ROOT / package).rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(PROJECT_ROOT)): sorted(_imported_roots(f) & FORBIDDEN[package])
        for f in files
        if _imported_roots(f) & FORBIDDEN[package]
    }
    assert offenders == {}
