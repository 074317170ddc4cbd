"""A helper process the local stack runs beside itself (DynamoDB Local, s3rver).

It starts at once, ``wait`` blocks until it answers, and ``stop`` ends it; its output goes to
a log file so that a failed start can say why.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

START_TIMEOUT_SECONDS = 60.0


class BackingServiceError(RuntimeError):
    """A helper process is missing (with the command that installs it) or did not start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ManagedProcess:
    """One child process with its output in ``log_path`` (a temporary file when None)."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        cwd: Path,
        log_path: Path | None,
        answers: Callable[[], bool],
    ) -> None:
        self.name = name
        self._answers = answers
        if log_path is None:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        else:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = log_path.open("a+b")
        self._process = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            list(command), cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise BackingServiceError(
                    f"{self.name} did not start (exit code {self._process.poll()}); "
                    f"its output:\n{self.tail()}"
                )
            time.sleep(0.1)

    def tail(self, size: int = 2000) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-size:].decode(errors="replace")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()  # both flush to disk on SIGTERM before they exit
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._log.close()


class LoopbackServer:
    """A server process on a free loopback port: ``endpoint`` is its URL once ``wait`` returns."""

    def __init__(
        self,
        name: str,
        command: Callable[[int], Sequence[str]],
        *,
        cwd: Path,
        log_path: Path | None,
        answers: Callable[[str], bool],
    ) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process = ManagedProcess(
            name,
            command(self.port),
            cwd=cwd,
            log_path=log_path,
            answers=lambda: answers(self.endpoint),
        )

    def wait(self) -> str:
        self._process.wait()
        return self.endpoint

    def stop(self) -> None:
        self._process.stop()
