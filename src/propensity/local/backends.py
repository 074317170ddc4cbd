"""Where the local stack's tables and objects live: moto's memory, or files on disk.

- ``InMemoryBackends``: moto in server mode (tests, ``--ephemeral``); gone when it stops.
- ``OnDiskBackends``: DynamoDB Local for the tables and their streams, s3rver for the
  objects, both under a state folder (``make run``), so a restart finds everything again.
Either way the handlers see only the standard ``AWS_ENDPOINT_URL_*`` variables.
"""

from __future__ import annotations

from typing import Protocol

from propensity.local.dynamodb_local import DynamoDBLocal
from propensity.local.emulator import Emulator, local_aws_environment
from propensity.local.s3rver import ACCESS_KEY, S3rver
from propensity.local.state import LocalState


class Backends(Protocol):
    persistent: bool

    def environment(self) -> dict[str, str]: ...

    def describe(self) -> str: ...

    def stop(self) -> None: ...


class InMemoryBackends:
    persistent = False

    def __init__(self, emulator_port: int = 0) -> None:
        self.emulator = Emulator(emulator_port).start()

    def environment(self) -> dict[str, str]:
        return self.emulator.environment()

    def describe(self) -> str:
        return f"emulator {self.emulator.url} (in memory: gone when the stack stops)"

    def stop(self) -> None:
        self.emulator.stop()


class OnDiskBackends:
    persistent = True

    def __init__(self, state: LocalState) -> None:
        self.state = state
        dynamodb = DynamoDBLocal(state.dynamodb_dir, log_path=state.logs_dir / "dynamodb.log")
        try:
            s3 = S3rver(state.s3_dir, log_path=state.logs_dir / "s3rver.log")
        except BaseException:
            dynamodb.stop()
            raise
        self.dynamodb, self.s3 = dynamodb, s3
        try:
            # Both started before either is waited for: the JVM boots while node does.
            self.dynamodb.wait()
            self.s3.wait()
        except BaseException:
            self.stop()
            raise
        state.save_endpoints(self.endpoints())

    def endpoints(self) -> dict[str, str]:
        return {"dynamodb": self.dynamodb.endpoint, "s3": self.s3.endpoint}

    def environment(self) -> dict[str, str]:
        return on_disk_environment(self.endpoints())

    def describe(self) -> str:
        return (
            f"state in {self.state.root} (DynamoDB Local {self.dynamodb.endpoint}, "
            f"s3rver {self.s3.endpoint})"
        )

    def stop(self) -> None:
        try:
            self.s3.stop()
        finally:
            self.dynamodb.stop()


def on_disk_environment(endpoints: dict[str, str]) -> dict[str, str]:
    # s3rver knows one access key; DynamoDB Local (-sharedDb) takes any.
    return local_aws_environment(
        s3=endpoints["s3"], dynamodb=endpoints["dynamodb"], access_key=ACCESS_KEY
    )
