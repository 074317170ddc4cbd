"""The persistent local stack's state folder (``make run``'s default: ``.local/state``).

Layout: ``dynamodb/`` (DynamoDB Local's files: tables and their streams), ``s3/`` (s3rver's
objects), ``admin-token`` (the generated admin secret, so tokens minted before a restart still
work), ``stream-positions.json`` (each stream mapping's position per shard, as an event
source mapping keeps it), ``endpoints.json`` (where the running stack's DynamoDB and S3 answer,
for the CLI) and ``logs/``. A lock file keeps a second stack off the same folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import IO, Any

from propensity.errors import PropensityError

MARKER = "propensity-local-state"  # a folder without it is never wiped
# ``make run``'s default, in the checkout (``.local/`` is git-ignored).
DEFAULT_STATE_DIR = Path(__file__).resolve().parents[3] / ".local" / "state"


class StateError(PropensityError):
    """The state folder is in use, or is not ours to wipe."""


class LocalState:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.dynamodb_dir = root / "dynamodb"
        self.s3_dir = root / "s3"
        self.logs_dir = root / "logs"
        self._lock: IO[str] | None = None

    @property
    def exists(self) -> bool:
        return (self.root / MARKER).is_file()

    def wipe(self) -> None:
        """Delete the folder's state (``--fresh``); refuses a folder this code did not make."""
        if not self.root.exists():
            return
        if not self.exists and any(self.root.iterdir()):
            raise StateError(
                f"{self.root} is not a propensity state folder (no {MARKER} file): not deleting it"
            )
        shutil.rmtree(self.root)

    def open(self) -> LocalState:
        """Create the folder if needed and hold its lock until ``close``."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MARKER).write_text("state of a local propensity stack; safe to delete\n")
        lock = (self.root / "lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StateError(
                f"another local stack is using {self.root}; stop it, or give another --state-dir"
            ) from None
        self._lock = lock
        return self

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        (self.root / "endpoints.json").unlink(missing_ok=True)

    def admin_token(self) -> str:
        """The stack's generated admin secret: made once, then read back on every start."""
        path = self.root / "admin-token"
        if path.is_file():
            return path.read_text().strip()
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
        return token

    def stream_positions(self) -> dict[str, Any] | None:
        """The saved stream positions, or None on a first start."""
        path = self.root / "stream-positions.json"
        if not path.is_file():
            return None
        return dict(json.loads(path.read_text()))

    def save_stream_positions(self, positions: dict[str, Any]) -> None:
        self._write_json("stream-positions.json", positions)

    def save_endpoints(self, endpoints: dict[str, str]) -> None:
        self._write_json("endpoints.json", endpoints)

    def _write_json(self, name: str, value: Any) -> None:
        # Whole or not at all: a stop in the middle of a write leaves the previous file.
        tmp = self.root / f".{name}.tmp"
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
        os.replace(tmp, self.root / name)


def running_endpoints(root: Path) -> dict[str, str]:
    """The endpoints of the stack running on ``root`` (for the CLI), or an error saying so."""
    path = root / "endpoints.json"
    if not path.is_file():
        raise StateError(f"no local stack is running on {root} (start one with `make run`)")
    return dict(json.loads(path.read_text()))
