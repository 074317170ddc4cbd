"""Local stand-in for ``snapshot_restore_py``, the SnapStart runtime-hook library that Lambda's
Python 3.12+ managed runtimes provide (and that is therefore never in our layers).

Same public names and semantics as the runtime's: ``register_before_snapshot`` and
``register_after_restore`` take ``(func, *args, **kwargs)`` or decorate, and return ``func``;
before-snapshot hooks run in reverse order of registration, after-restore hooks in order.

What the runtime does out of sight, the local runtime does with ``collecting()``: the hooks one
function's init registers are captured (per thread: each local function initialises on its own
worker thread), so the local run can call them in Lambda's order: init, before-snapshot, then
after-restore, then the invocations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


@dataclass
class Hooks:
    """The runtime hooks one function's init registered."""

    before_snapshot: list[Hook] = field(default_factory=list)
    after_restore: list[Hook] = field(default_factory=list)

    def run_before_snapshot(self) -> None:
        for func, args, kwargs in reversed(self.before_snapshot):
            func(*args, **kwargs)

    def run_after_restore(self) -> None:
        for func, args, kwargs in self.after_restore:
            func(*args, **kwargs)


_unscoped = Hooks()  # registered outside any collecting() block
_scope = threading.local()


def _target() -> Hooks:
    hooks: Hooks | None = getattr(_scope, "hooks", None)
    return _unscoped if hooks is None else hooks


def register_before_snapshot(func: F, *args: Any, **kwargs: Any) -> F:
    _target().before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func: F, *args: Any, **kwargs: Any) -> F:
    _target().after_restore.append((func, args, kwargs))
    return func


@contextmanager
def collecting() -> Iterator[Hooks]:
    """The hooks registered on this thread while the block runs (one function's init)."""
    previous = getattr(_scope, "hooks", None)
    _scope.hooks = hooks = Hooks()
    try:
        yield hooks
    finally:
        _scope.hooks = previous
