#!/usr/bin/env python3.13
"""Build one Lambda layer directory (``<out>/python/...``) for runtime python3.13, x86_64 or arm64.

Called by ``layers/<name>/Makefile`` (``sam build`` runs those through ``BuildMethod: makefile``).
Standard library only; it must run under Python 3.13 because it writes 3.13 bytecode.

Steps, in order:

1. ``pip install --target`` the pinned requirements (plus constraints for transitive packages) as
   CPython 3.13 wheels for the runtime's Amazon Linux 2023 (glibc 2.34: manylinux2014 or
   manylinux_2_28) and the ``--architecture``, whatever the build machine is. No bytecode yet.
2. Copy local packages (``--package``), without caches, package data included.
3. Remove the distributions the Lambda runtime provides (``--runtime-provided``: boto3, botocore,
   s3transfer), which a dependency such as aws-xray-sdk may pull in: a copy in /opt/python would
   shadow the runtime's SDK. ``--forbid`` instead fails the build if a distribution shows up.
4. Slim (``--slim``): drop test suites, C/Cython sources and headers, static libraries, type
   stubs, console scripts, dist-info RECORD files and the extra paths given with ``--drop``;
   ``--keep`` protects files the libraries import at run time (numpy/_core/tests/_natype.py).
5. Strip (``--strip``): ``strip --strip-unneeded`` the package extension modules (``*.so``), never
   the vendored libraries in ``*.libs/`` (auditwheel-patched OpenBLAS/gfortran).
6. Compile to 3.13 bytecode with ``unchecked-hash`` invalidation: the pycs are used without
   looking at source timestamps, which zip/unzip does not preserve, and Lambda's /opt is
   read-only so missing or stale pycs could never be written there. Everything is compiled,
   except inside the packages named with ``--compile-used-only`` (``all``: every package), where
   only the modules the ``--warmup`` scripts import get a pyc, to save space: the other modules
   still import, compiled in memory on first use.
7. Verify: run each ``--warmup`` script in an isolated interpreter (``-I -S -B``: no
   site-packages, no writes) that sees only the layer (plus ``--also`` layers), then check that
   every module it imported from the layer had a pyc, and report the import time. Only on a
   machine of the layer's architecture: for another one, step 6 learns the modules the warmups
   import from a throwaway build for this machine (same pins, same pure-Python modules).
8. Check that every ELF file in the layer is for its architecture.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

# A sibling module: this script runs by path, so its directory is on sys.path.
from layer_files import log, normalise, prune_orphans, remove_distribution, slim, tree_size
from layer_machine import HOST_ARCHITECTURE, PLATFORMS, check_machine, strip_extensions

RUNTIME = (3, 13)
PYC_TAG = f".cpython-{RUNTIME[0]}{RUNTIME[1]}."
CACHE_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache"
)

# The probe runs in the verifying interpreter after a warmup script: it lists the modules that came
# from the layer and whether each had a usable pyc.
PROBE = r"""
import importlib.util, json, os, sys
roots = [os.path.realpath(p) + os.sep for p in ROOTS]
found = []
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        continue
    real = os.path.realpath(path)
    if any(real.startswith(r) for r in roots):
        found.append([real, os.path.exists(importlib.util.cache_from_source(real))])
print("@@PROBE@@" + json.dumps({"seconds": ELAPSED, "modules": found}))
"""


def requirement_pins(lines: list[str]) -> dict[str, str]:
    """``name[extras]==version`` lines -> {normalised name: [extras]==version or version}."""
    pins: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        if not match:
            raise SystemExit(f"not an exact pin (name==version): {raw.strip()!r}")
        extras = ",".join(sorted(e.strip() for e in (match.group(2) or "[]")[1:-1].split(",") if e))
        pins[normalise(match.group(1))] = (
            f"[{extras}]=={match.group(3)}" if extras else match.group(3)
        )
    return pins


def check_pyproject(requirements: Path, pyproject: Path, group: str, exclude: list[str]) -> None:
    """The layer's pins must be exactly pyproject's (minus ``exclude``): one source of truth."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted_lines = (
        project["dependencies"]
        if group == "dependencies"
        else project["optional-dependencies"][group]
    )
    wanted = requirement_pins(wanted_lines)
    for name in exclude:
        wanted.pop(normalise(name), None)
    have = requirement_pins(requirements.read_text(encoding="utf-8").splitlines())
    if have != wanted:
        raise SystemExit(
            f"{requirements} does not match {pyproject} [{group}] (excluding {exclude}):\n"
            f"  only in requirements: {sorted(set(have.items()) - set(wanted.items()))}\n"
            f"  only in pyproject:    {sorted(set(wanted.items()) - set(have.items()))}"
        )
    log(f"pins match {pyproject.name} [{group}]: {len(have)} packages")


def pip_install(
    target: Path, requirements: Path, constraints: Path | None, platforms: list[str]
) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        *(arg for platform in platforms for arg in ("--platform", platform)),
        "--implementation",
        "cp",
        "--python-version",
        f"{RUNTIME[0]}.{RUNTIME[1]}",
        "--abi",
        f"cp{RUNTIME[0]}{RUNTIME[1]}",
        "--only-binary=:all:",
        "--no-compile",
        "--no-warn-conflicts",  # the check would compare against the build interpreter's packages
        "--disable-pip-version-check",
        "--quiet",
        "--requirement",
        str(requirements),
    ]
    if constraints:
        command += ["--constraint", str(constraints)]
    log("pip install -r " + requirements.name + (f" -c {constraints.name}" if constraints else ""))
    subprocess.run(command, check=True)  # noqa: S603 (our own argv, no shell)


def probe_used_modules(args: argparse.Namespace, host: str) -> set[Path]:
    """The layer modules the warmups import, learnt on a build for this machine's architecture
    (a layer for another one cannot run here): the same pins, so the same pure-Python modules.
    Returned relative to the layer root."""
    with tempfile.TemporaryDirectory(prefix="layer-probe-") as scratch:
        probe = Path(scratch) / "python"
        probe.mkdir()
        if args.requirements:
            pip_install(probe, args.requirements, args.constraints, PLATFORMS[host])
        copy_packages(probe, args.package, args.package_exclude)
        used = run_warmups(probe, [], args.warmup, expect_pycs=False)
        log(f"learnt the warmups' {len(used)} modules on a {host} build")
        return {Path(p).resolve().relative_to(probe.resolve()) for p, _ in used}


def copy_packages(root: Path, packages: list[Path], excluded: list[str]) -> None:
    for package in packages:
        if not (package / "__init__.py").is_file():
            raise SystemExit(f"--package {package} is not a Python package")
        shutil.copytree(package, root / package.name, ignore=CACHE_IGNORE)
        for name in excluded:
            shutil.rmtree(root / package.name / name, ignore_errors=True)
        log(f"copied package {package.name} ({tree_size(root / package.name) / 1024:.0f} KiB)")


def run_warmups(
    root: Path, also: list[Path], warmups: list[Path], expect_pycs: bool
) -> list[tuple[str, bool]]:
    """Run each warmup script isolated from every site-packages; return the layer modules used."""
    modules: dict[str, bool] = {}
    for warmup in warmups:
        code = (
            "import sys, time, runpy\n"
            f"sys.path[:0] = {[str(root), *map(str, also)]!r}\n"
            "started = time.perf_counter()\n"
            f"runpy.run_path({str(warmup)!r}, run_name='__main__')\n"
            "ELAPSED = round(time.perf_counter() - started, 2)\n"
            f"ROOTS = {[str(root)]!r}\n" + PROBE
        )
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
        result = subprocess.run(  # noqa: S603 (our own argv, no shell)
            [sys.executable, "-I", "-S", "-B", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"warmup {warmup.name} failed against {root}")
        payload = json.loads(result.stdout.rsplit("@@PROBE@@", 1)[1])
        for path, has_pyc in payload["modules"]:
            modules[path] = has_pyc
        missing = [p for p, ok in payload["modules"] if not ok]
        log(
            f"warmup {warmup.name}: ok, {len(payload['modules'])} layer modules, "
            f"{payload['seconds']} s" + (f", {len(missing)} without pyc" if expect_pycs else "")
        )
        if expect_pycs and missing:
            raise SystemExit(f"modules imported without a pyc: {missing[:10]}")
    return sorted(modules.items())


def compile_tree(root: Path, paths: list[Path] | None) -> None:
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    if paths is None:
        ok = compileall.compile_dir(
            root, quiet=1, workers=0, invalidation_mode=mode, legacy=False, optimize=0
        )
        if not ok:
            raise SystemExit("compileall reported errors")
        return
    for path in paths:
        py_compile.compile(str(path), doraise=True, invalidation_mode=mode, optimize=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="ARTIFACTS_DIR given by sam build")
    parser.add_argument("--requirements", type=Path)
    parser.add_argument("--constraints", type=Path)
    parser.add_argument("--pyproject", type=Path, help="check --requirements against this file")
    parser.add_argument("--pyproject-group", default="dependencies")
    parser.add_argument("--pyproject-exclude", action="append", default=[])
    parser.add_argument("--package", action="append", type=Path, default=[])
    parser.add_argument(
        "--package-exclude",
        action="append",
        default=[],
        help="subdirectory of a --package left out of the layer (development tooling)",
    )
    parser.add_argument("--forbid", action="append", default=[], help="distribution to refuse")
    parser.add_argument(
        "--runtime-provided",
        action="append",
        default=[],
        help="distribution the Lambda runtime provides: removed if a dependency pulls it in",
    )
    parser.add_argument("--slim", action="store_true")
    parser.add_argument("--keep", action="append", default=[])
    parser.add_argument("--drop", action="append", default=[])
    parser.add_argument("--strip", action="store_true")
    parser.add_argument(
        "--compile-used-only",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="compile only the modules of PACKAGE the warmups import ('all': any)",
    )
    parser.add_argument("--warmup", action="append", type=Path, default=[])
    parser.add_argument(
        "--also",
        action="append",
        type=Path,
        default=[],
        help="other built layer dirs the warmups may import from",
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(PLATFORMS),
        default="x86_64",
        help="the Lambda architecture the layer is for (wheels, and the ELF check)",
    )
    args = parser.parse_args()

    if sys.version_info[:2] != RUNTIME:
        raise SystemExit(
            f"build_layer.py must run under Python {RUNTIME[0]}.{RUNTIME[1]} (bytecode is "
            f"version-specific); this is {sys.version.split()[0]} at {sys.executable}"
        )
    if args.compile_used_only and not args.warmup:
        raise SystemExit("--compile-used-only needs at least one --warmup script")
    host = HOST_ARCHITECTURE.get(platform.machine().lower(), platform.machine())
    runs_here = host == args.architecture
    if args.also and not runs_here:
        raise SystemExit("--also layers cannot be probed for another architecture")
    started = time.perf_counter()
    root = (args.out / "python").resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)

    if args.requirements:
        if args.pyproject:
            check_pyproject(
                args.requirements, args.pyproject, args.pyproject_group, args.pyproject_exclude
            )
        pip_install(root, args.requirements, args.constraints, PLATFORMS[args.architecture])
    copy_packages(root, args.package, args.package_exclude)
    removed = [name for name in args.runtime_provided if remove_distribution(root, name)]
    for name in removed:
        log(f"removed {name}: pulled in by a dependency, provided by the Lambda runtime")
    if removed and args.requirements:
        prune_orphans(root, args.requirements, args.runtime_provided)
    for name in args.forbid:
        hits = [
            p.name for p in root.iterdir() if normalise(p.name.split("-")[0]) == normalise(name)
        ]
        if hits:
            raise SystemExit(f"forbidden distribution in layer: {hits}")

    if args.slim:
        slim(root, args.keep, args.drop)
    if args.strip:
        strip_extensions(root, args.architecture, host)

    if not args.compile_used_only:
        compile_tree(root, None)
        log("compiled all modules (unchecked-hash pycs)")
    else:
        if runs_here:
            ran = run_warmups(root, args.also, args.warmup, expect_pycs=False)
            used = {Path(p) for p, _ in ran}
        else:
            used = {root / p for p in probe_used_modules(args, host)}
        lazy = set(args.compile_used_only)

        def wanted(path: Path) -> bool:
            top = path.relative_to(root).parts[0]
            return path in used or ("all" not in lazy and top not in lazy)

        sources = sorted(root.rglob("*.py"))
        selected = [p for p in sources if wanted(p)]
        compile_tree(root, selected)
        log(
            f"compiled {len(selected)} of {len(sources)} modules "
            f"(only those the warmups import in: {', '.join(sorted(lazy))})"
        )

    if args.warmup and runs_here:
        run_warmups(root, args.also, args.warmup, expect_pycs=True)
    elif args.warmup:
        log(f"warmups not run: this {host} machine cannot run {args.architecture} extensions")
    check_machine(root, args.architecture)
    stray = [p for p in root.rglob("*.pyc") if PYC_TAG not in p.name]
    if stray:
        raise SystemExit(f"bytecode for another Python version: {stray[:5]}")
    log(
        f"layer {args.out.name}: {tree_size(args.out) / 2**20:.1f} MiB unzipped "
        f"({tree_size(args.out)} bytes), built in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
