"""Model configs added at run time, in the stack's bucket: the one place that knows their keys.

- ``model-configs/catalogue.json``: which models were added (config and dataset hashes, who and
  when) and which are archived. Written only with S3's conditional writes (If-Match on the ETag
  read, If-None-Match for the first), so two admins adding models at once never lose one.
- ``model-configs/<model>/<sha256>.json``: a validated config, immutable (its name is its hash).
- ``datasets/added/<model>/<sha256[:32]>.csv``: its dataset, where the retrain reads base data.
- ``incoming/model-datasets/<model>/<id>.csv``: presigned POST targets for large datasets
  (expire with the rest of ``incoming/``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from propensity.adapters.object_store import ObjectStore
from propensity.errors import ArtifactError, NotFoundError, StorageError
from propensity.records import ModelArchival, ModelCatalogue, StoredModel

CATALOGUE_FORMAT = 1
# A role without s3:ListBucket is told AccessDenied, not NoSuchKey, for a key that does not exist:
# before the first model is added the catalogue is such a key (the template grants every role
# s3:GetObject on it, which tests/infra holds).
_ABSENT_CODES = frozenset({"AccessDenied", "403"})


class BucketModelConfigs:
    def __init__(
        self,
        store: ObjectStore,
        *,
        prefix: str = "model-configs/",
        datasets_prefix: str = "datasets/",
        incoming_prefix: str = "incoming/",
    ) -> None:
        self._store = store
        self._prefix = prefix.strip("/") + "/"
        self._datasets = datasets_prefix.strip("/") + "/"
        self._incoming = incoming_prefix.strip("/") + "/"

    @property
    def _catalogue_key(self) -> str:
        return f"{self._prefix}catalogue.json"

    def read_catalogue(self) -> ModelCatalogue:
        try:
            body, etag = self._store.get_with_etag(self._catalogue_key)
        except NotFoundError:
            return ModelCatalogue()
        except StorageError as exc:
            if _error_code(exc.__cause__) in _ABSENT_CODES:
                return ModelCatalogue()
            raise
        return _parse_catalogue(body, etag, self._catalogue_key)

    def write_catalogue(self, catalogue: ModelCatalogue) -> None:
        body = {
            "format": CATALOGUE_FORMAT,
            "stored": {name: asdict(entry) for name, entry in sorted(catalogue.stored.items())},
            "archived": {name: asdict(a) for name, a in sorted(catalogue.archived.items())},
        }
        self._store.put_if(
            self._catalogue_key,
            json.dumps(body, indent=1, sort_keys=True).encode(),
            "application/json",
            etag=catalogue.revision,
        )

    def _config_key(self, model: str, sha256: str) -> str:
        return f"{self._prefix}{model}/{sha256}.json"

    def read_config(self, model: str, sha256: str) -> bytes:
        return self._store.get_bytes(self._config_key(model, sha256))

    def put_config(self, model: str, sha256: str, body: bytes) -> None:
        self._store.put_bytes(self._config_key(model, sha256), body, "application/json")

    def dataset_source(self, model: str, sha256: str) -> str:
        # Relative to the datasets prefix, as the packaged configs' sources are.
        return f"added/{model}/{sha256[:32]}.csv"

    def put_dataset(self, model: str, sha256: str, body: bytes) -> None:
        self._store.put_bytes(self._datasets + self.dataset_source(model, sha256), body, "text/csv")

    def _incoming_key(self, model: str, upload_id: str) -> str:
        return f"{self._incoming}model-datasets/{model}/{upload_id}.csv"

    def dataset_upload_form(
        self, model: str, upload_id: str, *, sha256: str, max_bytes: int, expires_seconds: int
    ) -> tuple[str, dict[str, str]]:
        return self._store.presigned_post(
            self._incoming_key(model, upload_id),
            content_type="text/csv",
            max_bytes=max_bytes,
            metadata={"sha256": sha256},
            expires_seconds=expires_seconds,
        )

    def read_dataset_upload(
        self, model: str, upload_id: str, max_bytes: int
    ) -> tuple[bytes, dict[str, str]]:
        return self._store.get_with_metadata(self._incoming_key(model, upload_id), max_bytes)


def _parse_catalogue(body: bytes, etag: str, where: str) -> ModelCatalogue:
    try:
        raw = json.loads(body)
        if raw.get("format") != CATALOGUE_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}")
        stored = {name: StoredModel(**entry) for name, entry in raw["stored"].items()}
        archived = {name: ModelArchival(**entry) for name, entry in raw["archived"].items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ArtifactError(f"{where} is not a model catalogue ({exc})") from exc
    return ModelCatalogue(stored, archived, etag)


def _error_code(cause: BaseException | None) -> str:
    response: Any = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
