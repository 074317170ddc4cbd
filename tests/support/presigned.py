"""A client of the presigned upload flow: announce a file's SHA-256, POST it with the form."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import requests


def sha256_of(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def post_form(ticket: Mapping[str, Any], payload: bytes, **changed: str) -> requests.Response:
    """POST ``payload`` to S3 with the ticket's form fields (some ``changed``), as a browser or
    ``curl -F`` would: the fields first, the file last. moto answers both in-process (its
    mock intercepts ``requests``) and in server mode."""
    fields = {**ticket["fields"], **changed}
    return requests.post(
        ticket["url"],
        data=fields,
        files={"file": ("upload.csv", payload, fields.get("Content-Type", "text/csv"))},
        timeout=30,
    )


def policy_of(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The signed POST policy, decoded: what S3 checks every POST against."""
    policy: dict[str, Any] = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    return policy
