"""The layout's one import rule: a package under components/ is entered through its
`__init__`; another package (or __main__.py) imports only the names it exports, never
one of its modules. config/ imports neither the Kubernetes provider nor components/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPONENT_FILES = sorted((ROOT / "components").rglob("*.py")) + [ROOT / "__main__.py"]
CONFIG_FILES = sorted((ROOT / "config").rglob("*.py"))


def _package(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "components" and len(parts) > 2 else None


def cross_package_module_imports(source: str, own: str | None) -> list[str]:
    """`from components.<other>.<module> import ...` lines of a file of package `own`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("components."):
            parts = node.module.split(".")
            if len(parts) > 2 and parts[1] != own:
                found.append(f"line {node.lineno}: from {node.module} import ...")
    return found


def test_a_module_import_across_packages_is_found() -> None:
    source = "from components.shared.labels import PART_OF\nfrom components.serving.endpoints import x\n"
    assert cross_package_module_imports(source, "serving") == [
        "line 1: from components.shared.labels import ..."
    ]
    assert cross_package_module_imports(source, None) == [
        "line 1: from components.shared.labels import ...",
        "line 2: from components.serving.endpoints import ...",
    ]


@pytest.mark.parametrize("path", COMPONENT_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_packages_are_entered_through_their_init(path: Path) -> None:
    found = cross_package_module_imports(path.read_text(), _package(path))
    assert not found, (
        f"{path.relative_to(ROOT)} imports another package's module; import the name from the "
        f"package (and export it in its __init__): {found}"
    )


def test_every_package_exports_what_it_imports() -> None:
    for init in sorted((ROOT / "components").glob("*/__init__.py")):
        tree = ast.parse(init.read_text())
        imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        exported = next(
            {e.value for e in n.value.elts}  # type: ignore[attr-defined]
            for n in tree.body
            if isinstance(n, ast.Assign) and n.targets[0].id == "__all__"  # type: ignore[attr-defined]
        )
        assert imported == exported, f"{init.relative_to(ROOT)}: __all__ differs from what it imports"


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_config_never_imports_pulumi(path: Path) -> None:
    modules = {
        name
        for node in ast.walk(ast.parse(path.read_text()))
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert not {m for m in modules if m.split(".")[0] in ("pulumi_kubernetes", "components")}
