"""The folders are the layers: every import inside the package points down (or sideways within its folder)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "kaggle_digits"
LAYERS = {  # higher imports lower, never the other way
    "base": 0,  # data.py, files.py, errors.py, …: importable from everywhere
    "nn": 1,
    "training": 2,
    "runfolder": 3,
    "competition": 4,
    "pipeline": 4,
    "inspection": 5,
    "blending": 5,
    "search": 5,
    "usecases": 6,
    "progress": 7,
    "terminal": 8,
    "api": 8,
    "__init__": 9,
    "__main__": 9,
}


def layer_of(module: str) -> str:
    """'kaggle_digits.pipeline.train' → 'pipeline'; top-level modules other than the faces are the base."""
    first = module.split(".")[1] if "." in module else "__init__"
    if first in LAYERS:
        return first
    return "base"


def imports_of(path: Path) -> list[str]:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module and node.module.startswith("kaggle_digits"):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("kaggle_digits")]
    return found


def test_every_import_points_down_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        mine = layer_of(module)
        for target in imports_of(path):
            theirs = layer_of(target) if target != "kaggle_digits" else "__init__"
            if theirs == mine:
                continue
            if LAYERS[theirs] >= LAYERS[mine] and not (mine == "base" and theirs == "base"):
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert wrong == []


def test_the_library_never_imports_the_terminal():
    for path in PACKAGE.rglob("*.py"):
        if "terminal" in path.parts or path.name == "__main__.py":
            continue
        assert not [t for t in imports_of(path) if t.startswith("kaggle_digits.terminal")], path
