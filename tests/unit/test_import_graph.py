"""The layering, read from the source: which module imports which.

Records and errors at the bottom; adapters never reach up into service/ or api/; service/ is
plain Python (no scientific stack, no training code); training/ never reaches into adapters;
each Lambda function imports only what it serves. Read statically with ``ast`` (imports under
``if TYPE_CHECKING:`` never run and are left out), so nothing here depends on what a test
happened to import first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "propensity"
SCIENTIFIC = {"pandas", "numpy", "sklearn", "scipy", "joblib", "matplotlib"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in PACKAGE.rglob("*.py")}
HANDLERS = {p.parent.name: p for p in (REPO / "functions").glob("*/handler.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, module: str, *, lazy: bool) -> Iterator[str]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            continue
        if isinstance(child, ast.Import):
            yield from (alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                package = module.rsplit(".", child.level)[0]
                base = f"{package}.{base}" if base else package
            yield base
            # ``from propensity.api.routes import predict`` imports the submodule too.
            yield from (f"{base}.{alias.name}" for alias in child.names)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not lazy:
            continue  # a function-level import runs on first call, not at import
        else:
            yield from _imports(child, module, lazy=lazy)


@cache
def direct_imports(path: Path, module: str, lazy: bool) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for name in _imports(tree, module, lazy=lazy):
        if name.startswith("propensity"):
            # Keep only names that are modules (not ``from x import SomeClass``).
            found = name
            while found and found not in MODULES:
                found = found.rpartition(".")[0]
            if found:
                names.add(found)
        else:
            names.add(name.split(".")[0])
    return frozenset(names)


def closure(path: Path, module: str, *, lazy: bool) -> set[str]:
    """Every module the file imports, transitively (package ``__init__`` files included)."""
    seen: set[str] = set()
    pending = [(path, module)]
    while pending:
        current, name = pending.pop()
        for imported in direct_imports(current, name, lazy):
            if imported in seen:
                continue
            seen.add(imported)
            if imported in MODULES:
                pending.append((MODULES[imported], imported))
                parent = imported.rpartition(".")[0]
                while parent:
                    if parent in MODULES and parent not in seen:
                        seen.add(parent)
                        pending.append((MODULES[parent], parent))
                    parent = parent.rpartition(".")[0]
    return seen


def modules_under(prefix: str) -> list[str]:
    return sorted(m for m in MODULES if m == prefix or m.startswith(prefix + "."))


@pytest.mark.parametrize("module", modules_under("propensity.service"))
def test_service_is_plain_python(module: str) -> None:
    imported = direct_imports(MODULES[module], module, True)
    assert not imported & SCIENTIFIC, f"{module} imports {sorted(imported & SCIENTIFIC)}"
    upward = {m for m in imported if m.startswith(("propensity.training", "propensity.adapters"))}
    assert not upward, f"{module} reaches into {sorted(upward)}"


@pytest.mark.parametrize("module", modules_under("propensity.training"))
def test_training_never_reaches_into_adapters(module: str) -> None:
    imported = direct_imports(MODULES[module], module, True)
    adapters = {m for m in imported if m.startswith("propensity.adapters")} | (imported & {"boto3"})
    assert not adapters, f"{module} imports {sorted(adapters)}"


@pytest.mark.parametrize("module", modules_under("propensity.adapters"))
def test_adapters_import_nothing_above_them(module: str) -> None:
    imported = direct_imports(MODULES[module], module, True)
    above = {
        m
        for m in imported
        if m.startswith(("propensity.service", "propensity.api", "propensity.training"))
    }
    assert not above, f"{module} imports {sorted(above)}"


@pytest.mark.parametrize(
    "module", ["propensity.records", "propensity.errors", "propensity.versions"]
)
def test_records_and_errors_are_the_bottom(module: str) -> None:
    imported = direct_imports(MODULES[module], module, True)
    assert {m for m in imported if m.startswith("propensity")} <= {"propensity.errors"}


def test_the_retrain_function_never_imports_fastapi() -> None:
    # Lazily imported modules count too: the retrain function has no FastAPI at all.
    imported = closure(HANDLERS["retrain"], "handler", lazy=True)
    assert "fastapi" not in imported and "starlette" not in imported
    assert not {m for m in imported if m.startswith("propensity.api")}


def test_the_rotation_function_imports_neither_the_api_nor_the_training_stack() -> None:
    # It runs a few times a month on CoreLayer alone: no FastAPI or scikit-learn, even lazily,
    # and at cold start no other service than the rotation's.
    imported = closure(HANDLERS["rotate"], "handler", lazy=True)
    assert not imported & (SCIENTIFIC | {"fastapi", "starlette", "mangum"})
    assert not {m for m in imported if m.startswith(("propensity.api", "propensity.training"))}
    at_start = closure(HANDLERS["rotate"], "handler", lazy=False)
    services = {m for m in at_start if m.startswith("propensity.service.")}
    assert services <= {
        "propensity.service.secret_rotation",
        "propensity.service.admin_secret",
        "propensity.service.ports",
        "propensity.service.tokens",
    }, sorted(services)


def test_the_predict_function_imports_only_what_it_serves_at_cold_start() -> None:
    imported = closure(HANDLERS["predict"], "handler", lazy=False)
    assert not imported & SCIENTIFIC
    unwanted = {
        m
        for m in imported
        if m.startswith(
            (
                "propensity.api.routes.feedback",
                "propensity.api.routes.admin",
                "propensity.chat",
                "propensity.service.chat",
                "propensity.service.retraining",
                "propensity.service.feedback",
                "propensity.service.registry_admin",
                "propensity.training",
            )
        )
    }
    assert not unwanted, sorted(unwanted)


@pytest.mark.parametrize("function", sorted(HANDLERS))
def test_each_function_has_its_own_composition_root(function: str) -> None:
    imported = closure(HANDLERS[function], "handler", lazy=True)
    roots = {m for m in imported if m.startswith("propensity.roots.")}
    assert roots == {f"propensity.roots.{function}"}


def test_mlflow_is_imported_only_by_the_export_and_only_when_it_runs() -> None:
    # MLflow is an optional extra: importing any module (the export's too) never imports it
    for module, path in MODULES.items():
        assert "mlflow" not in direct_imports(path, module, False), module
        if "mlflow" in direct_imports(path, module, True):
            assert module.startswith("propensity.mlflow_export"), module
    # and no Lambda function reaches the export, even lazily
    for function, handler in HANDLERS.items():
        reached = closure(handler, "handler", lazy=True)
        assert "mlflow" not in reached, function
        assert not {m for m in reached if m.startswith("propensity.mlflow_export")}, function
