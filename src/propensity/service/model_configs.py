"""The models a function serves: packaged configs, plus configs added at run time, re-read.

Like the champion cache, a warm function trusts what it read for ``refresh_seconds`` (the
stack's ModelRefreshSeconds), then reads the catalogue again: a model added or archived through
the admin routes is served, or refused, without a redeploy. A name it does not know makes it
look again at once (at most every ``miss_refresh_seconds``), so the retrain job an add queues
finds its model even in a container that read the catalogue a moment before.

Packaged configs are the defaults and always win: a stored config cannot replace one (the admin
route refuses it; a catalogue edited by hand is ignored for that name). When the store is
unreachable, or one stored config is missing or does not match its SHA-256, what was read last
is served on, and ``on_stale`` is told.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from propensity.config import MODEL_NAME_PATTERN, ModelConfig
from propensity.errors import ArtifactError, ModelArchivedError, PropensityError, UnknownModelError
from propensity.records import ModelArchival, ModelCatalogue, StoredModel
from propensity.service.ports import ModelConfigSource, ModelConfigStore

log = logging.getLogger(__name__)

_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def config_bytes(config: ModelConfig) -> bytes:
    """The stored form of a config: canonical JSON, so equal configs hash alike."""
    return json.dumps(config.model_dump(mode="json"), sort_keys=True, indent=1).encode()


def config_from_bytes(body: bytes, sha256: str, where: str) -> ModelConfig:
    """A stored config, only if its bytes are the ones the catalogue recorded."""
    if hashlib.sha256(body).hexdigest() != sha256:
        raise ArtifactError(f"{where} does not match its recorded SHA-256")
    try:
        return ModelConfig.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise ArtifactError(f"{where} is not a valid model config") from exc


class ModelConfigs:
    """A ``ModelConfigSource``: packaged configs, and (given a store) the stored ones."""

    def __init__(
        self,
        packaged: Mapping[str, ModelConfig],
        store: ModelConfigStore | None = None,
        *,
        refresh_seconds: float = 60.0,
        miss_refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_stale: Callable[[str], None] | None = None,
    ) -> None:
        self._packaged = dict(packaged)
        self._store = store
        self._refresh = refresh_seconds
        self._miss_refresh = miss_refresh_seconds
        self._clock = clock
        self._on_stale = on_stale
        self._stored: dict[str, ModelConfig] = {}
        self._archived: dict[str, ModelArchival] = {}
        self._by_sha: dict[str, ModelConfig] = {}
        self._read_at = -math.inf
        self._missed_at = -math.inf

    @property
    def packaged(self) -> frozenset[str]:
        return frozenset(self._packaged)

    # --- ModelConfigSource --------------------------------------------------------------------

    def get(self, model: str) -> ModelConfig:
        config = self.known(model)
        archival = self._archived.get(model)
        if archival is not None:
            raise ModelArchivedError(
                model, archival.archived_by, archival.archived_at, archival.reason
            )
        return config

    def known(self, model: str) -> ModelConfig:
        if not _MODEL_NAME.match(model):
            raise UnknownModelError(model)  # never worth a read of the store
        self._current()
        config = self._lookup(model)
        if config is None and self._store is not None:
            now = self._clock()
            if min(now - self._missed_at, now - self._read_at) >= self._miss_refresh:
                self._missed_at = now
                self._reload(now)
                config = self._lookup(model)
        if config is None:
            raise UnknownModelError(model)
        return config

    def names(self) -> list[str]:
        return list(self.configs())

    def archival(self, model: str) -> ModelArchival | None:
        self._current()
        return self._archived.get(model)

    def __contains__(self, model: object) -> bool:
        if not isinstance(model, str):
            return False
        try:
            self.get(model)
        except PropensityError:
            return False
        return True

    def configs(self) -> dict[str, ModelConfig]:
        """Every served model's config, by name, from one read of the catalogue."""
        self._current()
        served = {**self._stored, **self._packaged}
        return {name: served[name] for name in sorted(served) if name not in self._archived}

    def refresh(self) -> None:
        """Read the catalogue now (after this function changed it)."""
        self._reload(self._clock())

    # --- reading ------------------------------------------------------------------------------

    def _lookup(self, model: str) -> ModelConfig | None:
        return self._packaged.get(model) or self._stored.get(model)

    def _current(self) -> None:
        if self._store is not None and self._clock() - self._read_at >= self._refresh:
            self._reload(self._clock())

    def _reload(self, now: float) -> None:
        if self._store is None:
            return
        self._read_at = now
        try:
            catalogue = self._store.read_catalogue()
        except PropensityError as exc:
            log.warning("model catalogue unreadable, serving the configs read before: %s", exc)
            self._stale("catalogue")
            return
        self._stored = self._stored_configs(catalogue)
        self._archived = dict(catalogue.archived)

    def _stored_configs(self, catalogue: ModelCatalogue) -> dict[str, ModelConfig]:
        configs: dict[str, ModelConfig] = {}
        for name, entry in catalogue.stored.items():
            if name in self._packaged:
                log.warning("stored config %r ignored: a packaged model has that name", name)
                continue
            try:
                configs[name] = self._config(entry)
            except PropensityError as exc:
                previous = self._stored.get(name)
                log.error("stored config of %r refused (%s)", name, exc)
                self._stale(name)
                if previous is not None:
                    configs[name] = previous
        return configs

    def _config(self, entry: StoredModel) -> ModelConfig:
        cached = self._by_sha.get(entry.config_sha256)
        if cached is None:
            assert self._store is not None
            where = f"config {entry.name} {entry.config_sha256[:12]}"
            body = self._store.read_config(entry.name, entry.config_sha256)
            cached = config_from_bytes(body, entry.config_sha256, where)
            if cached.name != entry.name:
                raise ArtifactError(f"{where} is the config of {cached.name!r}")
            self._by_sha[entry.config_sha256] = cached
        return cached

    def _stale(self, what: str) -> None:
        if self._on_stale is not None:
            self._on_stale(what)


def as_source(configs: ModelConfigSource | Mapping[str, ModelConfig]) -> ModelConfigSource:
    """A source for services built with a fixed set of configs (the CLI, tests)."""
    if isinstance(configs, Mapping):
        return ModelConfigs(configs)
    return configs
