"""Adding a model at run time, and archiving one: a config and a dataset, no redeploy.

An add validates everything before anything is stored: the TOML against ``ModelConfig`` (422
naming the field), the dataset against that config with the parser training uses (422 naming
rows and columns), and its size (413 above the inline limit: large files go by a presigned
POST). Then the dataset and the config are stored under their hashes, the catalogue records the
model (a conditional write), and its first training is queued as a retrain job whose id derives
from the config's hash: repeating an add changes nothing and queues nothing new.

Packaged models are the defaults: a stored config may not take a packaged name (409). Archiving
keeps every version in the registry; the model is no longer served, taught or retrained.
"""

from __future__ import annotations

import contextlib
import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace

from pydantic import ValidationError

from propensity.clock import now_iso
from propensity.config import ModelConfig
from propensity.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    Problem,
    UploadInvalidError,
)
from propensity.records import ModelArchival, ModelCatalogue, RetrainJob, StoredModel
from propensity.service.model_configs import ModelConfigs, config_bytes
from propensity.service.ports import JobStore, ModelConfigStore
from propensity.service.uploads import MAX_ROWS, MAX_UPLOAD_BYTES, PRESIGNED_EXPIRES_SECONDS
from propensity.tabular import parse_labelled_csv

# A JSON body's CSV, escaped, must stay under Lambda's 6 MB synchronous payload.
MAX_INLINE_DATASET_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 64 * 1024
# Training splits 80/20 and picks C by 5-fold CV on the training split: fewer rows or fewer of
# a class than this cannot be trained and evaluated meaningfully.
MIN_DATASET_ROWS = 100
MIN_CLASS_ROWS = 20
CATALOGUE_ATTEMPTS = 5


@dataclass(frozen=True)
class DatasetInput:
    """The dataset of an add: inline CSV bytes, or the id of a presigned upload."""

    csv: bytes | None = None
    upload_id: str | None = None


@dataclass(frozen=True)
class AddedModel:
    model: str
    config_sha256: str
    dataset_sha256: str
    dataset_source: str
    rows: int
    positives: int
    added_by: str
    added_at: str
    job_id: str
    created: bool


def config_field(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the field path of the TOML (``config.estimator.C``)."""
    return ".".join(["config", *(str(part) for part in loc)])


def parse_config(text: str) -> ModelConfig:
    """A TOML model config, validated; 422 naming the field (``config.<path>``) otherwise."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:  # a lone surrogate (valid JSON, not text): never stored
        raise InvalidInputError("config", f"not UTF-8 text (character {exc.start})") from exc
    if size > MAX_CONFIG_BYTES:
        raise PayloadTooLargeError("config", size, MAX_CONFIG_BYTES)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError("config", f"not valid TOML: {exc}") from exc
    try:
        return ModelConfig.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        reason = str(first["msg"]).removeprefix("Value error, ") + more
        raise InvalidInputError(config_field(tuple(first["loc"])), reason) from exc


class ModelAdmin:
    def __init__(
        self,
        configs: ModelConfigs,
        store: ModelConfigStore,
        jobs: JobStore,
        *,
        clock: Callable[[], str] = now_iso,
        max_inline_bytes: int = MAX_INLINE_DATASET_BYTES,
    ) -> None:
        self._configs = configs
        self._store = store
        self._jobs = jobs
        self._clock = clock
        self._max_inline = max_inline_bytes

    # --- adding -------------------------------------------------------------------------------

    def add(self, model: str, config_text: str, dataset: DatasetInput, *, actor: str) -> AddedModel:
        self._refuse_packaged(model)
        config = parse_config(config_text)
        if config.name != model:
            raise InvalidInputError(
                "config.name", f"is {config.name!r}, but the path names model {model!r}"
            )
        payload = self._dataset_bytes(model, dataset)
        rows, positives = _validate_dataset(config, payload)
        dataset_sha = hashlib.sha256(payload).hexdigest()
        source = self._store.dataset_source(model, dataset_sha)
        stored = config.model_copy(
            update={
                "dataset": config.dataset.model_copy(
                    update={"source": source, "sha256": dataset_sha}
                )
            }
        )
        body = config_bytes(stored)
        config_sha = hashlib.sha256(body).hexdigest()
        entry = StoredModel(
            model,
            config_sha,
            dataset_sha,
            rows,
            actor,
            self._clock(),
            hashlib.sha256(f"{model}\x1f{config_sha}".encode()).hexdigest()[:32],
        )
        recorded = self._stored_entry(entry)
        created = recorded is None
        if created:
            # Immutable keys (their names are their hashes): a repeat after a failure rewrites
            # the same bytes. The catalogue entry comes last, so it never names a missing file.
            self._store.put_dataset(model, dataset_sha, payload)
            self._store.put_config(model, config_sha, body)
            recorded = self._update(lambda c: self._with_entry(c, entry))
        assert recorded is not None
        self._queue_first_training(recorded)
        self._configs.refresh()
        return AddedModel(
            model,
            recorded.config_sha256,
            recorded.dataset_sha256,
            source,
            recorded.dataset_rows,
            positives,
            recorded.added_by,
            recorded.added_at,
            recorded.first_job_id,
            created,
        )

    def start_dataset_upload(
        self, model: str, sha256: str, expires_seconds: int = PRESIGNED_EXPIRES_SECONDS
    ) -> dict[str, object]:
        """A presigned POST for a dataset too large to send inline; then add with its id."""
        self._refuse_packaged(model)
        upload_id = sha256[:32]
        url, fields = self._store.dataset_upload_form(
            model,
            upload_id,
            sha256=sha256,
            max_bytes=MAX_UPLOAD_BYTES,
            expires_seconds=expires_seconds,
        )
        return {
            "upload_id": upload_id,
            "method": "POST",
            "url": url,
            "fields": fields,
            "expires_in": expires_seconds,
            "max_bytes": MAX_UPLOAD_BYTES,
        }

    def _refuse_packaged(self, model: str) -> None:
        if model in self._configs.packaged:
            raise ConflictError(
                f"{model!r} is a packaged model: its config ships with the code and cannot be "
                "replaced at run time; choose another name"
            )

    def _dataset_bytes(self, model: str, dataset: DatasetInput) -> bytes:
        if (dataset.csv is None) == (dataset.upload_id is None):
            raise InvalidInputError(
                "dataset",
                "give exactly one of dataset.csv (the CSV text, up to "
                f"{self._max_inline} bytes) or dataset.upload_id (a presigned upload)",
            )
        if dataset.csv is not None:
            if len(dataset.csv) > self._max_inline:
                raise PayloadTooLargeError(
                    "dataset.csv",
                    len(dataset.csv),
                    self._max_inline,
                    f"; send larger files by POST /models/{model}/dataset/uploads",
                )
            return dataset.csv
        assert dataset.upload_id is not None
        return self._posted_dataset(model, dataset.upload_id)

    def _posted_dataset(self, model: str, upload_id: str) -> bytes:
        try:
            payload, metadata = self._store.read_dataset_upload(
                model, upload_id, MAX_UPLOAD_BYTES + 1
            )
        except NotFoundError as exc:
            raise InvalidInputError(
                "dataset.upload_id",
                f"no file was posted for upload {upload_id} (or it expired); start one with "
                f"POST /models/{model}/dataset/uploads",
            ) from exc
        if len(payload) > MAX_UPLOAD_BYTES:
            raise PayloadTooLargeError("dataset.upload_id", len(payload), MAX_UPLOAD_BYTES)
        digest = hashlib.sha256(payload).hexdigest()
        stated = metadata.get("sha256", "")
        if digest != stated or digest[:32] != upload_id:
            raise InvalidInputError(
                "dataset.upload_id",
                f"the posted file's SHA-256 is {digest}, not the one stated when the upload "
                "started: it was changed or cut short; start again",
            )
        return payload

    # --- the catalogue ------------------------------------------------------------------------

    def _stored_entry(self, entry: StoredModel) -> StoredModel | None:
        """The catalogue's entry when it records this config already (an idempotent repeat)."""
        return self._check_entry(self._store.read_catalogue(), entry)

    @staticmethod
    def _check_entry(catalogue: ModelCatalogue, entry: StoredModel) -> StoredModel | None:
        archived = catalogue.archived.get(entry.name)
        if archived is not None:
            raise ConflictError(
                f"model {entry.name!r} was archived by {archived.archived_by} at "
                f"{archived.archived_at}; its name stays taken (its versions are kept)"
            )
        existing = catalogue.stored.get(entry.name)
        if existing is None:
            return None
        if existing.config_sha256 != entry.config_sha256:
            raise ConflictError(
                f"model {entry.name!r} exists with another config or dataset (added by "
                f"{existing.added_by} at {existing.added_at}); configs added at run time "
                "are not replaced"
            )
        return existing

    def _with_entry(
        self, catalogue: ModelCatalogue, entry: StoredModel
    ) -> tuple[ModelCatalogue | None, StoredModel]:
        existing = self._check_entry(catalogue, entry)
        if existing is not None:  # another add of the same config won the race
            return None, existing
        return replace(catalogue, stored={**catalogue.stored, entry.name: entry}), entry

    def _update[T](self, change: Callable[[ModelCatalogue], tuple[ModelCatalogue | None, T]]) -> T:
        """Apply ``change`` to the catalogue as read; re-read and re-apply if another write won
        meanwhile. ``change`` answers (None, result) when there is nothing to write."""
        for _ in range(CATALOGUE_ATTEMPTS):
            catalogue = self._store.read_catalogue()
            changed, result = change(catalogue)
            if changed is None:
                return result
            try:
                self._store.write_catalogue(changed)
            except ConflictError:
                continue
            return result
        raise ConflictError("the model catalogue kept changing meanwhile; retry")

    def _queue_first_training(self, entry: StoredModel) -> None:
        job = RetrainJob(
            entry.first_job_id,
            entry.name,
            "queued",
            entry.added_at,
            entry.added_by,
            updated_at=entry.added_at,
        )
        # Queued by the first add already: a job is created once, and its record is its outcome.
        with contextlib.suppress(ConflictError):
            self._jobs.put_job(job)

    # --- archiving ----------------------------------------------------------------------------

    def archive(self, model: str, *, actor: str, reason: str = "") -> tuple[ModelArchival, bool]:
        """Stop serving ``model`` (packaged or added); its versions stay in the registry.
        Archiving it again answers the first archival."""
        self._configs.known(model)  # UnknownModelError for a name never configured
        try:
            reason.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInputError("reason", f"not UTF-8 text (character {exc.start})") from exc
        archival = ModelArchival(model, actor, self._clock(), reason)

        def change(
            catalogue: ModelCatalogue,
        ) -> tuple[ModelCatalogue | None, tuple[ModelArchival, bool]]:
            existing = catalogue.archived.get(model)
            if existing is not None:
                return None, (existing, False)
            archived = {**catalogue.archived, model: archival}
            return replace(catalogue, archived=archived), (archival, True)

        result = self._update(change)
        self._configs.refresh()
        return result


def _validate_dataset(config: ModelConfig, payload: bytes) -> tuple[int, int]:
    """Rows and positives of a dataset that fits the config and can be trained on."""
    table = parse_labelled_csv(config, payload, "dataset", max_rows=MAX_ROWS)
    negatives = table.rows - table.positives
    problems = []
    if table.rows < MIN_DATASET_ROWS:
        problems.append(
            Problem(
                None, None, f"{table.rows} data rows; a model needs at least {MIN_DATASET_ROWS}"
            )
        )
    for name, count in (
        (config.target.positive, table.positives),
        (config.target.negative, negatives),
    ):
        if count < MIN_CLASS_ROWS:
            problems.append(
                Problem(
                    None,
                    config.target.column,
                    f"{count} rows of class {name!r}; each class needs at least {MIN_CLASS_ROWS}",
                )
            )
    if problems:
        raise UploadInvalidError("dataset", problems)
    return table.rows, table.positives
