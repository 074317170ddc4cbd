"""The HTTP API in front of the functions: what API Gateway does, on 127.0.0.1.

Each request matches one of the template's routes (literal segments before ``{params}``), is
turned into a payload-2.0 event with that route key and handed to the route's function; its
response (status, headers, cookies, base64 body) is written back. Also done here, as API
Gateway does it at the API and not in the backend: the named stage (both ``/models/...`` and
``/dev/models/...`` are accepted; ``rawPath`` always carries ``/dev``), ``404 Not Found`` for
unmatched routes, ``500 Internal Server Error`` when the function fails, the 10 MiB payload
limit (413) and CORS, from the template's ``CorsConfiguration``. Lambda's own 6 MB limit on
the invocation request and response (the JSON event, body included, base64 inflating binary
ones) also applies: beyond it the invocation fails in AWS, so it fails here, with a 500.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from propensity.local.events import api_gateway_request_id, decode_http_body, http_api_event
from propensity.local.template import HttpRoute, Stack

Invoke = Callable[[str, Any], Any]

DEFAULT_PORT = 8000
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API request payload quota
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # synchronous invocation: request and response each


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class CorsConfiguration:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.allow_origins or origin in self.allow_origins)

    def origin_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Added to every response of an allowed origin."""
        if origin is None or not self.allows(origin):
            return []
        headers = [("access-control-allow-origin", "*" if "*" in self.allow_origins else origin)]
        if self.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if self.expose_headers:
            headers.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        return headers

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if origin is None or not self.allows(origin):
            return []
        headers = self.origin_headers(origin)
        if self.allow_methods:
            headers.append(("access-control-allow-methods", ",".join(self.allow_methods)))
        if self.allow_headers:
            headers.append(("access-control-allow-headers", ",".join(self.allow_headers)))
        if self.max_age is not None:
            headers.append(("access-control-max-age", str(self.max_age)))
        return headers


def _as_list(value: Any) -> tuple[str, ...]:
    """A CommaDelimitedList parameter resolves to one string; a YAML list stays a list."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def cors_configuration(stack: Stack) -> CorsConfiguration | None:
    for resource in stack.resources.values():
        if resource["Type"] != "AWS::Serverless::HttpApi":
            continue
        config = resource.get("Properties", {}).get("CorsConfiguration")
        if not config:
            return None
        config = stack.resolve(config)
        if config is True:  # `CorsConfiguration: true` allows every origin
            return CorsConfiguration(
                allow_origins=("*",), allow_methods=("*",), allow_headers=("*",)
            )
        max_age = config.get("MaxAge")
        return CorsConfiguration(
            allow_origins=_as_list(config.get("AllowOrigins")),
            allow_methods=tuple(m.upper() for m in _as_list(config.get("AllowMethods"))),
            allow_headers=tuple(h.lower() for h in _as_list(config.get("AllowHeaders"))),
            expose_headers=tuple(h.lower() for h in _as_list(config.get("ExposeHeaders"))),
            allow_credentials=str(config.get("AllowCredentials", False)).lower() == "true",
            max_age=int(max_age) if max_age is not None else None,
        )
    return None


def route_specificity(route: HttpRoute) -> tuple[int, ...]:
    """Sort key: at the first position where two routes differ, a literal segment wins."""
    segments = route.path.strip("/").split("/")
    return (*(1 if s.startswith("{") else 0 for s in segments), -len(segments))


def _json(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()  # byte for byte
    return HttpResponse(status, [("content-type", "application/json")], body)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


@dataclass
class LocalHttpApi:
    """Routing, stage, CORS and response translation; independent of the socket server."""

    stack: Stack
    invoke: Invoke
    stage: str = ""
    cors: CorsConfiguration | None = None
    routes: list[HttpRoute] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stage = self.stage or self.stack.stage()
        if self.cors is None:
            self.cors = cors_configuration(self.stack)
        if not self.routes:
            self.routes = sorted(self.stack.http_routes(), key=route_specificity)

    def strip_stage(self, path: str) -> str:
        """``/dev/models/x`` → ``/models/x``; a path without the stage is taken as it is."""
        if self.stage in ("", "$default"):
            return path
        prefix = f"/{self.stage}"
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
        return path

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                return route, parameters
        return None

    def handle(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        source_ip: str = "127.0.0.1",
        domain_name: str = "localhost",
    ) -> HttpResponse:
        request_id = api_gateway_request_id()
        origin = _header(headers, "origin")
        response = self._handle(method, target, headers, body, source_ip, domain_name, request_id)
        extra = [("apigw-requestid", request_id)]
        if self.cors is not None and method.upper() != "OPTIONS":
            extra.extend(self.cors.origin_headers(origin))
        return HttpResponse(response.status, [*response.headers, *extra], response.body)

    def _handle(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        source_ip: str,
        domain_name: str,
        request_id: str,
    ) -> HttpResponse:
        split = urlsplit(target)
        path = self.strip_stage(split.path or "/")
        found = self.match(method, path)
        if found is None and method.upper() == "OPTIONS" and self.cors is not None:
            # No OPTIONS route: API Gateway answers the preflight itself.
            return HttpResponse(204, self.cors.preflight_headers(_header(headers, "origin")), b"")
        if found is None:
            return _json(404, "Not Found")
        route, parameters = found
        event = http_api_event(
            method,
            path,
            route_key=route.route_key,
            path_parameters=parameters,
            stage=self.stage,
            query_string=split.query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            domain_name=domain_name,
            request_id=request_id,
        )
        event_size = len(json.dumps(event))
        if event_size > LAMBDA_PAYLOAD_BYTES:
            return self._integration_error(
                route, f"event of {event_size} bytes exceeds Lambda's 6 MB invocation payload"
            )
        try:
            result = self.invoke(route.function, event)
            response = function_response(result)
        except Exception:  # noqa: BLE001 (any function error is a 500, as in API Gateway)
            return self._integration_error(route, traceback.format_exc())
        result_size = len(json.dumps(result, default=str))
        if result_size > LAMBDA_PAYLOAD_BYTES:
            return self._integration_error(
                route, f"response of {result_size} bytes exceeds Lambda's 6 MB response payload"
            )
        return response

    @staticmethod
    def _integration_error(route: HttpRoute, detail: str) -> HttpResponse:
        print(
            f"[local] {route.route_key} -> {route.function} failed:\n{detail}",
            file=sys.stderr,
            flush=True,
        )
        return _json(500, "Internal Server Error")


def function_response(result: Any) -> HttpResponse:
    """Payload 2.0 response → HTTP. Without ``statusCode`` the result is the JSON body (200)."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        return HttpResponse(
            200, [("content-type", "application/json")], json.dumps(result).encode()
        )
    status = int(result["statusCode"])
    headers = [(str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name).lower(), str(v)) for v in values)
    headers.extend(("set-cookie", str(c)) for c in result.get("cookies") or [])
    return HttpResponse(status, headers, decode_http_body(result))


class _PayloadTooLargeError(Exception):
    pass


class LocalRequestHandler(BaseHTTPRequestHandler):
    server: LocalHttpServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: the headers and the body are two writes; with Nagle's algorithm the body
    # waits for the client's delayed ACK of the headers, ~40 ms per keep-alive request.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except _PayloadTooLargeError:
            response = _json(413, "Request Entity Too Large")
            self.close_connection = True  # the rest of the body is never read
        except ValueError:
            response = _json(400, "Bad Request")
            self.close_connection = True
        else:
            host = self.headers.get("host", f"localhost:{self.server.server_port}")
            headers = [*self.headers.items()]
            if _header(headers, "x-forwarded-for") is None:
                headers.append(("x-forwarded-for", self.client_address[0]))
            headers.append(("x-forwarded-port", str(self.server.server_port)))
            headers.append(("x-forwarded-proto", "http"))
            response = self.server.api.handle(
                self.command,
                self.path,
                headers,
                body,
                source_ip=self.client_address[0],
                domain_name=host.split(":", 1)[0],
            )
        self._write(response)
        self.log_message(
            '"%s %s" %d %d %.1f ms',
            self.command,
            self.path,
            response.status,
            len(response.body),
            (time.perf_counter() - started) * 1000,
        )

    def _read_body(self) -> bytes | None:
        """At most MAX_PAYLOAD_BYTES are read; a larger declared or chunked body is refused."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_header = self.headers.get("content-length")
        if length_header is None:
            return None
        length = int(length_header)
        if length < 0:
            raise ValueError("negative content-length")
        if length > MAX_PAYLOAD_BYTES:
            raise _PayloadTooLargeError
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_PAYLOAD_BYTES:
                raise _PayloadTooLargeError
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)  # CRLF after each chunk

    def _write(self, response: HttpResponse) -> None:
        self.send_response_only(response.status)
        names = {name for name, _ in response.headers}
        for name, value in response.headers:
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "date" not in names:
            self.send_header("date", self.date_time_string())
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"[http] {self.client_address[0]} {format % args}\n")

    # Every method goes through the routes (an unrouted one gets 404, as in API Gateway).
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve  # noqa: N815


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # listen() backlog; socketserver's default of 5 resets connections when a few dozen
    # clients (a load test, a browser's parallel requests) connect at once.
    request_queue_size = 128

    def __init__(self, api: LocalHttpApi, host: str, port: int, *, quiet: bool = False) -> None:
        self.api = api
        self.quiet = quiet
        super().__init__((host, port), LocalRequestHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


def serve_routes(routes: Iterable[HttpRoute]) -> list[str]:
    """Route keys, most specific first (what the banner prints)."""
    return [r.route_key for r in sorted(routes, key=route_specificity)]
