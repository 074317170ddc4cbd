"""A layer's files: sizes, installed distributions, and slimming what nothing imports.

Standard library only, like ``build_layer.py``, which imports it from beside itself.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# Build inputs nothing imports at run time: C/C++/Cython/Fortran sources and headers, static
# libraries for compiling against numpy, and the meson build files sdists leave in wheels.
SOURCE_SUFFIXES = (
    ".pyx",
    ".pxd",
    ".pxi",
    ".c",
    ".cc",
    ".cpp",
    ".h",
    ".hpp",
    ".f",
    ".f90",
    ".tp",
    ".a",
)
BUILD_FILE_NAMES = ("meson.build",)
STUB_SUFFIXES = (".pyi",)
TEST_DIR_NAMES = ("tests",)


def log(message: str) -> None:
    print(f"[build_layer] {message}", flush=True)


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def remove_distribution(root: Path, name: str) -> bool:
    """Delete an installed distribution (files listed in its RECORD, then its dist-info)."""
    for info in root.glob("*.dist-info"):
        if normalise(info.name.split("-", 1)[0]) != normalise(name):  # <name>-<version>.dist-info
            continue
        record = info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines() if record.is_file() else []
        for line in lines:
            target = (root / line.split(",", 1)[0]).resolve()
            if root in target.parents and target.is_file():
                target.unlink()
        shutil.rmtree(info, ignore_errors=True)
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and (path.name == "__pycache__" or not any(path.iterdir())):
                shutil.rmtree(path, ignore_errors=True)
        return True
    return False


def prune_orphans(root: Path, requirements: Path, provided: list[str]) -> None:
    """Remove distributions only the runtime-provided ones needed (botocore's urllib3, ...)."""
    installed = {normalise(info.name.split("-", 1)[0]): info for info in root.glob("*.dist-info")}
    wanted: set[tuple[str, frozenset[str]]] = set()
    todo = [
        (normalise(m.group(1)), {e.strip() for e in (m.group(2) or "").split(",") if e.strip()})
        for line in requirements.read_text(encoding="utf-8").splitlines()
        if (m := re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([^\]]*)\])?", line.split("#")[0]))
    ]
    skip = {normalise(n) for n in provided}
    while todo:
        name, extras = todo.pop()
        if name in skip or name not in installed or (name, frozenset(extras)) in wanted:
            continue
        wanted.add((name, frozenset(extras)))
        metadata = (installed[name] / "METADATA").read_text(encoding="utf-8")
        for line in metadata.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            spec, _, marker = line[len("Requires-Dist:") :].partition(";")
            extra = re.search(r"extra\s*==\s*[\"']([^\"']+)[\"']", marker)
            if extra and extra.group(1) not in extras:
                continue
            dep = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([^\]]*)\])?", spec)
            if dep:
                dep_extras = {e.strip() for e in (dep.group(2) or "").split(",") if e.strip()}
                todo.append((normalise(dep.group(1)), dep_extras))
    keep = {name for name, _ in wanted}
    for name in sorted(set(installed) - keep):
        remove_distribution(root, name)
        log(f"removed {name}: only needed by runtime-provided distributions")


def slim(root: Path, keep: list[str], drop: list[str]) -> None:
    keep_paths = {(root / k).resolve() for k in keep}
    for k in keep_paths:
        if not k.exists():
            raise SystemExit(f"--keep {k} does not exist after install")
    before = tree_size(root)

    def is_kept(path: Path) -> bool:
        resolved = path.resolve()
        return any(k == resolved or k in resolved.parents for k in keep_paths)

    def holds_kept(path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved in k.parents for k in keep_paths)

    def remove(path: Path) -> None:
        if is_kept(path):
            return
        if path.is_dir() and not path.is_symlink():
            if holds_kept(path):  # e.g. numpy/_core/tests: keep _natype.py, drop the rest
                for child in list(path.iterdir()):
                    remove(child)
            else:
                shutil.rmtree(path)
        else:
            path.unlink()

    for pattern in drop:
        matches = list(root.glob(pattern))
        if not matches:
            raise SystemExit(f"--drop {pattern!r} matched nothing: stale slimming rule?")
        for path in matches:
            remove(path)
    for name in TEST_DIR_NAMES:
        for path in sorted(root.rglob(name), key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and path.exists():
                remove(path)
    for path in list(root.rglob("*")):
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and (
            path.suffix in SOURCE_SUFFIXES + STUB_SUFFIXES or path.name in BUILD_FILE_NAMES
        ):
            remove(path)
        elif path.is_file() and path.name == "RECORD" and path.parent.name.endswith(".dist-info"):
            remove(path)  # pip's uninstall manifest; METADATA (importlib.metadata) stays
    scripts = root / "bin"  # console scripts whose shebang points at the build interpreter
    if scripts.is_dir():
        shutil.rmtree(scripts)
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    log(f"slimmed {before / 2**20:.1f} MiB -> {tree_size(root) / 2**20:.1f} MiB")
