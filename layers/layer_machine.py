"""Which machine a layer is for: wheel platforms, stripping and checking its ELF files.

Standard library only, like ``build_layer.py``, which imports it from beside itself.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from layer_files import log

# Wheel platforms python3.13's Amazon Linux 2023 (glibc 2.34) runs, per Lambda architecture.
PLATFORMS = {
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64"],
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64"],
}
# ELF e_machine of the compiled extensions each architecture must carry.
ELF_MACHINES = {"x86_64": 62, "arm64": 183}
HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


# binutils' strip for each architecture's ELF files, on a machine of the other one.
CROSS_STRIP = {
    "arm64": ("aarch64-linux-gnu-strip", "binutils-aarch64-linux-gnu"),
    "x86_64": ("x86_64-linux-gnu-strip", "binutils-x86-64-linux-gnu"),
}


def strip_extensions(root: Path, architecture: str, host: str) -> None:
    tool, package = ("strip", "binutils") if architecture == host else CROSS_STRIP[architecture]
    strip = shutil.which(tool)
    if not strip:
        raise SystemExit(f"--strip needs `{tool}` on PATH (apt-get install {package})")
    targets = [
        p
        for p in root.rglob("*.so")
        if p.is_file() and not any(part.endswith(".libs") for part in p.relative_to(root).parts)
    ]
    before = sum(p.stat().st_size for p in targets)
    for start in range(0, len(targets), 200):
        subprocess.run(  # noqa: S603 (our own argv, no shell)
            [strip, "--strip-unneeded", *map(str, targets[start : start + 200])], check=True
        )
    after = sum(p.stat().st_size for p in targets)
    log(f"stripped {len(targets)} extension modules: {(before - after) / 2**20:.1f} MiB saved")


def check_machine(root: Path, architecture: str) -> None:
    """Every ELF file in the layer (extensions and vendored libraries) is for ``architecture``."""
    wanted = ELF_MACHINES[architecture]
    checked, wrong = 0, []
    for path in root.rglob("*.so*"):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            header = handle.read(20)
        if header[:4] != b"\x7fELF":
            continue
        checked += 1
        if int.from_bytes(header[18:20], "little") != wanted:
            wrong.append(str(path.relative_to(root)))
    if wrong:
        raise SystemExit(f"{len(wrong)} ELF files are not {architecture}: {wrong[:5]}")
    log(f"all {checked} ELF files are {architecture}")
