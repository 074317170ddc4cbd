"""Version names: ``v1``, ``v2`` … (numbers sort; names are what people read)."""

from __future__ import annotations

import re

from propensity.errors import NotFoundError

_VERSION = re.compile(r"^v([1-9][0-9]{0,5})$")


def version_number(version: str) -> int:
    match = _VERSION.match(version)
    if not match:
        raise NotFoundError(f"version {version!r} does not exist")
    return int(match.group(1))


def version_name(number: int) -> str:
    return f"v{number}"
