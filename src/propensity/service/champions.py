"""The serving models: champion scorecards cached in memory, refreshed at most every N seconds.

A new champion is picked up without a redeploy, and so is a challenger on trial (the alias
names it: the same read). Each scorecard is loaded only if its SHA-256 matches the registry;
when the new artifact is missing or corrupt, or the registry is unreachable, the cache keeps
serving the scorecard it has, and tells ``on_stale`` (the predict function counts it as the
ChampionRefreshFailures metric, which an alarm watches).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from propensity.errors import (
    ArtifactError,
    ModelUnavailableError,
    NotFoundError,
    PropensityError,
    StorageError,
)
from propensity.records import ChampionAlias
from propensity.scoring import Scorer
from propensity.service.artifacts import load_verified
from propensity.service.ports import ArtifactStore, Registry

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    alias: ChampionAlias
    scorer: Scorer
    checked_at: float
    # The alias's challenger, loaded; None without one or when its scorecard was refused.
    challenger: Scorer | None = None


class ChampionCache:
    def __init__(
        self,
        registry: Registry,
        artifacts: ArtifactStore,
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_stale: Callable[[str], None] | None = None,
    ) -> None:
        self._registry = registry
        self._on_stale = on_stale
        self._artifacts = artifacts
        self._refresh = refresh_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def preload(self, models: Iterable[str]) -> None:
        """Warm the cache at cold start; a failure here is retried on the first request."""
        for model in models:
            try:
                self.get(model)
            except PropensityError as exc:
                log.warning("could not preload %s: %s", model, exc)

    def get(self, model: str) -> tuple[ChampionAlias, Scorer]:
        entry = self._entry(model)
        return entry.alias, entry.scorer

    def serving(self, model: str) -> tuple[ChampionAlias, Scorer, Scorer | None]:
        """The champion, and the challenger the alias names when its scorecard loaded."""
        entry = self._entry(model)
        return entry.alias, entry.scorer, entry.challenger

    def _entry(self, model: str) -> _Entry:
        entry = self._entries.get(model)
        now = self._clock()
        if entry is not None and now - entry.checked_at < self._refresh:
            return entry
        try:
            alias = self._registry.get_champion(model)
        except StorageError as exc:
            if entry is None:
                raise ModelUnavailableError(f"model {model!r}: registry unavailable") from exc
            log.warning(
                "registry unavailable, serving cached %s %s: %s", model, entry.alias.version, exc
            )
            entry.checked_at = now
            self._stale(model)
            return entry
        if alias is None:
            if entry is None:
                raise ModelUnavailableError(f"model {model!r} has no champion yet")
            return entry
        if entry is not None and entry.alias == dataclasses.replace(
            alias, revision=entry.alias.revision, updated_at=entry.alias.updated_at
        ):
            entry.checked_at = now
            return entry
        if entry is not None and (entry.alias.version, entry.alias.scorecard_sha256) == (
            alias.version,
            alias.scorecard_sha256,
        ):
            # The same champion; only its challenger (or the alias's bookkeeping) changed.
            entry.alias, entry.checked_at = alias, now
            entry.challenger = self._load_challenger(model, alias)
            return entry
        try:
            scorer = self._load(model, alias.scorecard_key, alias.scorecard_sha256)
        except (ArtifactError, NotFoundError, StorageError) as exc:
            if entry is None:
                raise ModelUnavailableError(
                    f"model {model!r}: champion {alias.version} cannot be loaded"
                ) from exc
            log.error(
                "champion %s %s refused (%s); still serving %s",
                model,
                alias.version,
                exc,
                entry.alias.version,
            )
            entry.checked_at = now
            self._stale(model)
            return entry
        fresh = _Entry(alias, scorer, now, self._load_challenger(model, alias))
        self._entries[model] = fresh
        return fresh

    def _stale(self, model: str) -> None:
        """A due re-check failed and the cached champion is served on: not refreshed."""
        if self._on_stale is not None:
            self._on_stale(model)

    def _load(self, model: str, key: str, sha256: str) -> Scorer:
        scorer = Scorer.from_json(load_verified(self._artifacts, key, sha256))
        if scorer.model != model:
            raise ArtifactError(f"{key} is a scorecard of model {scorer.model!r}")
        return scorer

    def _load_challenger(self, model: str, alias: ChampionAlias) -> Scorer | None:
        """A challenger whose scorecard is refused is not served: the champion answers alone."""
        pointer = alias.challenger
        if pointer is None:
            return None
        try:
            return self._load(model, pointer.scorecard_key, pointer.scorecard_sha256)
        except (ArtifactError, NotFoundError, StorageError) as exc:
            log.error("challenger %s %s refused (%s)", model, pointer.version, exc)
            self._stale(model)
            return None

    def recheck(self) -> None:
        """Re-read every cached champion's alias now, whatever the last check said.

        After a SnapStart restore the snapshot's clock readings say nothing about how old the
        cached champion is: without this, a restored environment could serve a champion from
        the day the snapshot was taken.
        """
        for entry in self._entries.values():
            entry.checked_at = -math.inf
        self.preload(list(self._entries))

    def clear(self) -> None:
        self._entries.clear()
