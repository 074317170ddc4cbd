"""s3rver: a fake S3 that keeps objects (and their metadata) as files, for ``make run``.

moto keeps everything in memory, so the persistent local stack stores objects here instead.
What it does not do, checked on 3.7.1: bucket versioning, default encryption and public-access
blocks (``NotImplemented``; the code relies on none of them), and presigned POST policies (it
stores a form upload without checking ``content-length-range``; the upload's completion still
refuses an oversize or mismatched object by its size and SHA-256). It accepts the access key
``S3RVER`` only.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from propensity.local.processes import BackingServiceError, LoopbackServer
from propensity.local.template import REPO_ROOT

PACKAGE = REPO_ROOT / "tools" / "s3rver" / "node_modules" / "s3rver"
ACCESS_KEY = "S3RVER"  # s3rver's only account; its secret is the same word


def locate() -> tuple[str, Path]:
    node = shutil.which("node")
    if node is None:
        raise BackingServiceError(
            "node is not on PATH: s3rver needs Node.js (apt-get install nodejs)"
        )
    script = PACKAGE / "bin" / "s3rver.js"
    if not script.is_file():
        raise BackingServiceError(
            f"s3rver is not installed ({script.relative_to(REPO_ROOT)} is missing): run "
            "`make s3rver` (npm ci --prefix tools/s3rver)"
        )
    return node, script


def answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=2) as response:  # noqa: S310 (loopback)
            response.read()
    except urllib.error.HTTPError:
        return True  # it answered (an anonymous listing is refused)
    except OSError:
        return False
    return True


class S3rver(LoopbackServer):
    """s3rver on a free port, storing under ``directory``."""

    def __init__(self, directory: Path, *, log_path: Path) -> None:
        node, script = locate()
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(
            "s3rver",
            lambda port: [
                node,
                str(script),
                "--directory",
                str(directory.resolve()),
                "--address",
                "127.0.0.1",
                "--port",
                str(port),
                "--silent",
                # Path-style only: bucket names are never looked up as host names.
                "--no-vhost-buckets",
            ],
            cwd=directory,
            log_path=log_path,
            answers=answers,
        )
