"""Fakes of the credential ports: the admin secret, its rotation, token revocations."""

from __future__ import annotations

from propensity.errors import StorageError
from propensity.records import SecretStaging, SecretVersions, TokenRevocation


class FakeSecret:
    """Secrets Manager's stages in memory: ``rotate`` is what put-secret-value does."""

    def __init__(self, value: str, *, at: float = 0.0) -> None:
        self.versions = SecretVersions(value, None, at)
        self.reads = 0
        self.fail = False

    def rotate(self, value: str, *, at: float) -> None:
        self.versions = SecretVersions(value, self.versions.current, at)

    def read(self) -> SecretVersions:
        self.reads += 1
        if self.fail:
            raise StorageError("secretsmanager unavailable")
        return self.versions


class FakeRotatingSecret:
    """Secrets Manager's versions and staging labels in memory, as a rotation moves them:
    ``start`` is what RotateSecret does before invoking the function (an empty AWSPENDING
    version named by the token)."""

    def __init__(self, value: str, *, rotation_enabled: bool = True) -> None:
        self.rotation_enabled = rotation_enabled
        self.values: dict[str, str | None] = {"v0": value}
        self.labels: dict[str, list[str]] = {"v0": ["AWSCURRENT"]}
        self.writes = 0

    def start(self, token: str) -> None:
        for labels in self.labels.values():
            if "AWSPENDING" in labels:
                labels.remove("AWSPENDING")
        self.values[token] = None
        self.labels[token] = ["AWSPENDING"]

    def staging(self) -> SecretStaging:
        return SecretStaging(self.rotation_enabled, {v: tuple(s) for v, s in self.labels.items()})

    def value_at(self, version_id: str, stage: str) -> str | None:
        if stage not in self.labels.get(version_id, []):
            return None
        return self.values[version_id]

    def put_pending(self, version_id: str, value: str) -> None:
        self.writes += 1
        self.values[version_id] = value
        self.labels.setdefault(version_id, ["AWSPENDING"])

    def make_current(self, version_id: str, *, replacing: str) -> None:
        self.writes += 1
        for labels in self.labels.values():
            if "AWSPREVIOUS" in labels:
                labels.remove("AWSPREVIOUS")
        self.labels[replacing].remove("AWSCURRENT")
        self.labels[replacing].append("AWSPREVIOUS")
        self.labels[version_id].append("AWSCURRENT")

    def at(self, stage: str) -> str | None:
        return next((self.values[v] for v, s in self.labels.items() if stage in s), None)


class FakeRevocations:
    def __init__(self) -> None:
        self.items: dict[str, TokenRevocation] = {}
        self.reads = 0
        self.fail = False

    def add(self, revocation: TokenRevocation) -> tuple[TokenRevocation, bool]:
        if revocation.jti in self.items:
            return self.items[revocation.jti], False
        self.items[revocation.jti] = revocation
        return revocation, True

    def since(self, epoch: int) -> list[TokenRevocation]:
        self.reads += 1
        if self.fail:
            raise StorageError("dynamodb unavailable")
        return [r for r in self.items.values() if r.revoked_epoch > epoch]
