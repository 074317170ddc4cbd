"""Fixtures of the local-stack tests: no AWS_* variable may outlive a test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def restore_environment() -> Iterator[None]:
    """Every stack restores os.environ itself; this puts it back anyway and then complains."""
    before = dict(os.environ)
    yield
    leaked = sorted(
        k for k in os.environ if k.startswith("AWS_") and os.environ[k] != before.get(k)
    )
    os.environ.clear()
    os.environ.update(before)
    assert not leaked, f"AWS variables left behind: {leaked}"
