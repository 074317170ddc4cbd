"""``propensity models add|archive``: models added and archived at run time, over the admin API.

The commands call the stack's HTTP API (``PUT /models/{model}``, ``POST …/dataset/uploads``,
``POST …/archive``), so the route's validation, credential check and record of who acted are
the same as for any other client. The API is named by ``--api-url`` (``make run``:
http://127.0.0.1:8000; AWS: the stack's ApiUrl) or ``--stack-name`` (its ApiUrl output); the
admin credential by ``--token`` or ``$PROPENSITY_ADMIN_TOKEN`` (sent as X-Admin-Token), and
behind API Gateway's JWT authorizer the JWT by ``--jwt`` or ``$PROPENSITY_ADMIN_JWT``.

A dataset up to the inline limit travels in the request; a larger one by the presigned POST.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import urllib3

from propensity.config import available_models
from propensity.errors import PropensityError

EXIT_OK, EXIT_REFUSED = 0, 2
# What the route takes inline (service.model_admin.MAX_INLINE_DATASET_BYTES); the CLI does not
# import the service to know it.
INLINE_LIMIT = 4 * 1024 * 1024
TERMINAL_JOB_STATES = ("succeeded", "failed")


def _refused(method: str, path: str, status: int, body: Any) -> PropensityError:
    """The API's error answer, as the CLI prints it (its status and what it said)."""
    return PropensityError(f"{method} {path}: HTTP {status}: {_explain(body)}")


def _explain(body: Any) -> str:
    if not isinstance(body, dict):
        return str(body)[:500]
    parts = [str(body.get("detail", ""))] if isinstance(body.get("detail"), str) else []
    if body.get("field"):
        parts = [f"{body['field']}: {body.get('reason', '')}"]
    for problem in body.get("problems", [])[:20] if isinstance(body.get("problems"), list) else []:
        where = ", ".join(
            f"{k} {problem[k]}" for k in ("row", "column") if problem.get(k) is not None
        )
        parts.append(f"  {where or 'file'}: {problem.get('reason')}")
    if not parts and isinstance(body.get("detail"), list):
        parts = [f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in body["detail"]]
    return "\n".join(parts) or json.dumps(body)[:500]


class AdminApi:
    """The few admin routes these commands call."""

    def __init__(self, base_url: str, token: str, jwt: str | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"X-Admin-Token": token}
        if jwt:
            self._headers["Authorization"] = f"Bearer {jwt}"
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=120))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        response = self._http.request(method, self._base + path, body=data, headers=headers)
        try:
            answer = json.loads(response.data) if response.data else None
        except ValueError:
            answer = response.data.decode(errors="replace")
        if response.status >= 400:
            raise _refused(method, path, response.status, answer)
        return answer

    def post_form(self, ticket: dict[str, Any], payload: bytes) -> None:
        """The presigned POST: the ticket's fields, then the file."""
        fields: dict[str, Any] = dict(ticket["fields"])
        fields["file"] = ("dataset.csv", payload, fields.get("Content-Type", "text/csv"))
        response = self._http.request("POST", ticket["url"], fields=fields, encode_multipart=True)
        if response.status >= 300:
            raise _refused("POST", "(presigned upload)", response.status, response.data[:500])


def _api(args: argparse.Namespace) -> AdminApi:
    token = args.token or os.environ.get("PROPENSITY_ADMIN_TOKEN")
    if not token:
        raise PropensityError("give --token or set PROPENSITY_ADMIN_TOKEN (an admin credential)")
    url = args.api_url
    if not url and args.stack_name:
        from propensity.adapters.cloudformation import stack_outputs

        url = stack_outputs(args.stack_name).get("ApiUrl")
    if not url:
        raise PropensityError("give --api-url (make run: http://127.0.0.1:8000) or --stack-name")
    return AdminApi(url, token, args.jwt or os.environ.get("PROPENSITY_ADMIN_JWT"))


def cmd_add(args: argparse.Namespace, _settings: Any) -> int:
    config_text = Path(args.config).read_text(encoding="utf-8")
    payload = Path(args.data).read_bytes()
    model = args.model or _name_in(config_text)
    api = _api(args)
    dataset: dict[str, Any]
    inline = len(payload) <= INLINE_LIMIT and not args.presigned
    if inline:
        try:
            dataset = {"csv": payload.decode("utf-8")}
        except UnicodeDecodeError:
            inline = False
    if not inline:
        digest = hashlib.sha256(payload).hexdigest()
        ticket = api.call("POST", f"/models/{model}/dataset/uploads", {"sha256": digest})
        api.post_form(ticket, payload)
        dataset = {"upload_id": ticket["upload_id"]}
    added = api.call("PUT", f"/models/{model}", {"config": config_text, "dataset": dataset})
    state = "already added (nothing changed)" if added["duplicate"] else "added"
    print(
        f"{model}: {state}; {added['dataset']['rows']} rows, config {added['config_sha256'][:12]}"
    )
    print(f"first training: job {added['job_id']} (GET {added['job']})")
    if args.wait:
        return _wait(api, added["job"], args.wait)
    return EXIT_OK


def _wait(api: AdminApi, job_path: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        job = api.call("GET", job_path)
        if job["status"] in TERMINAL_JOB_STATES or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(f"job {job['status']}: {job.get('version') or ''} {job.get('reason') or ''}".rstrip())
    return EXIT_OK if job["status"] == "succeeded" else EXIT_REFUSED


def _name_in(config_text: str) -> str:
    import tomllib

    try:
        name = tomllib.loads(config_text).get("name")
    except tomllib.TOMLDecodeError as exc:
        raise PropensityError(f"config is not valid TOML: {exc}") from exc
    if not isinstance(name, str):
        raise PropensityError("the config has no name: give --model")
    return name


def cmd_archive(args: argparse.Namespace, _settings: Any) -> int:
    api = _api(args)
    archived = api.call("POST", f"/models/{args.model}/archive", {"reason": args.reason})
    state = "was already archived" if archived["duplicate"] else "archived"
    print(
        f"{args.model}: {state} by {archived['archived_by']} at {archived['archived_at']}; "
        "its versions stay in the registry"
    )
    return EXIT_OK


def cmd_list(_args: argparse.Namespace, settings: Any) -> int:
    print("\n".join(available_models(settings.config_dir)))
    return EXIT_OK


def _api_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--api-url", help="the HTTP API (make run: http://127.0.0.1:8000)")
    command.add_argument("--stack-name", help="CloudFormation stack (its ApiUrl output)")
    command.add_argument("--token", help="admin credential (default: $PROPENSITY_ADMIN_TOKEN)")
    command.add_argument("--jwt", help="JWT for API Gateway's authorizer ($PROPENSITY_ADMIN_JWT)")


def add_models_command(commands: Any) -> None:
    """``models`` (list the packaged ones), ``models add``, ``models archive``."""
    models = commands.add_parser(
        "models", help="list packaged models; add or archive one at run time"
    )
    models.set_defaults(handler=cmd_list)
    actions = models.add_subparsers(dest="action")
    add = actions.add_parser("add", help="add a model to a running stack: config + dataset")
    add.add_argument("--config", required=True, help="the model's TOML config")
    add.add_argument("--data", required=True, help="its dataset (CSV)")
    add.add_argument("--model", help="the model's name (default: the config's name)")
    add.add_argument(
        "--presigned", action="store_true", help="send the dataset by presigned POST at any size"
    )
    add.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="poll the first training's job until it ends (at most SECONDS)",
    )
    _api_options(add)
    add.set_defaults(handler=cmd_add)
    archive = actions.add_parser("archive", help="stop serving a model (its versions stay)")
    archive.add_argument("model")
    archive.add_argument("--reason", default="", help="why (recorded with who and when)")
    _api_options(archive)
    archive.set_defaults(handler=cmd_archive)
