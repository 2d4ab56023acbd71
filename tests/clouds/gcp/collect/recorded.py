"""Recorded Google API responses served through the client libraries' own transports (no network).

A recording is a list of exchanges read from our JSON fixture files: an HTTP one
`{"method", "url", "query", "status", "body"}` (the query without `$alt`, values as strings, lists for repeated
parameters) or a gRPC one `{"grpc": "/package.Service/Method", "request": {...}, "status": "OK" or a status code
name, "body": {...}}`. Each exchange answers one matching request, in file order, so a 429 followed by a 200 for
the same request is a quota error then success. A request no exchange matches fails the test: the recording
covers every call the collector makes, and `unused()` names the exchanges nothing asked for.

The seams: `RecordedAdapter` (a requests `HTTPAdapter` mounted on the REST clients' AuthorizedSession and Cloud
Storage's session), `RecordedHttp` (httplib2's `Http`, under google-auth-httplib2's AuthorizedHttp for Cloud
Identity's discovery client) and `RecordedGrpcServer` (a gRPC server on the loopback interface, for the IAM admin
client, whose library has no REST transport).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import httplib2
import requests
from google.protobuf import descriptor_pool, json_format, message_factory
from requests.adapters import HTTPAdapter

from permscope.clouds.gcp.collect.options import Seams

IGNORED_QUERY = {"$alt", "alt", "prettyPrint"}


class UnrecordedRequestError(AssertionError):
    """A request the recording has no answer for."""


class Recording:
    """The exchanges of one test, consumed as requests arrive."""

    def __init__(self, exchanges: Iterable[dict[str, Any]]) -> None:
        self.exchanges = [dict(exchange) for exchange in exchanges]
        self.used = [False] * len(self.exchanges)
        self.seen: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def load(cls, *paths: Path) -> Recording:
        """The exchanges of fixture files (each a JSON list), in order."""
        exchanges: list[dict[str, Any]] = []
        for path in paths:
            exchanges.extend(json.loads(path.read_text()))
        return cls(exchanges)

    def http(self, method: str, url: str) -> tuple[int, bytes]:
        """The recorded status and body of an HTTP request."""
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        query = {
            k: v if len(v) > 1 else v[0] for k, v in parse_qs(parts.query).items() if k not in IGNORED_QUERY
        }
        with self._lock:
            self.seen.append(f"{method} {base} {query}")
            for i, exchange in enumerate(self.exchanges):
                if self.used[i] or "grpc" in exchange:
                    continue
                if (
                    exchange["method"] == method
                    and exchange["url"] == base
                    and exchange.get("query", {}) == query
                ):
                    self.used[i] = True
                    return int(exchange.get("status", 200)), json.dumps(exchange.get("body", {})).encode()
        raise UnrecordedRequestError(f"no recorded response for {method} {base} {query}")

    def grpc(self, method: str, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The recorded status name and body of a gRPC call."""
        with self._lock:
            self.seen.append(f"{method} {request}")
            for i, exchange in enumerate(self.exchanges):
                if self.used[i] or exchange.get("grpc") != method:
                    continue
                if exchange.get("request", {}) == request:
                    self.used[i] = True
                    return str(exchange.get("status", "OK")), exchange.get("body", {})
        raise UnrecordedRequestError(f"no recorded response for {method} {request}")

    def unused(self) -> list[dict[str, Any]]:
        """Exchanges no request asked for."""
        return [exchange for exchange, used in zip(self.exchanges, self.used, strict=True) if not used]


class RecordedAdapter(HTTPAdapter):
    """A requests transport adapter answering from a recording."""

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        status, body = self.recording.http(str(request.method), str(request.url))
        response = requests.Response()
        response.status_code = status
        response._content = body
        response.headers["Content-Type"] = "application/json"
        response.url = str(request.url)
        response.request = request
        response.reason = "recorded"
        return response


class RecordedHttp(httplib2.Http):  # type: ignore[misc]
    """An httplib2 `Http` answering from a recording."""

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **kwargs: Any
    ) -> Any:
        status, content = self.recording.http(method, uri)
        return httplib2.Response({"status": str(status), "content-type": "application/json"}), content


class RecordedGrpcServer:
    """A gRPC server on 127.0.0.1 answering any method from a recording (requests decoded with the method's
    own `<Method>Request` / `<Method>Response` message types from the default descriptor pool)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers([_Handler(recording)])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def stop(self) -> None:
        self.server.stop(None)


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method  # "/google.iam.admin.v1.IAM/ListRoles"
        service, _, name = method.strip("/").partition("/")
        package = service.rpartition(".")[0]  # proto-plus registers messages, not services: by convention
        pool = descriptor_pool.Default()
        request_type = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}Request"))
        response_type = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{package}.{name}Response")
        )

        def answer(request: Any, context: grpc.ServicerContext) -> Any:
            status, body = self.recording.grpc(method, json_format.MessageToDict(request))
            if status != "OK":
                context.abort(getattr(grpc.StatusCode, status), body.get("message", status))
            return json_format.ParseDict(body, response_type())

        return grpc.unary_unary_rpc_method_handler(
            answer,
            request_deserializer=request_type.FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )


def seams(recording: Recording, server: RecordedGrpcServer) -> Seams:
    """The collector's transport seams, every one answering from the recording."""
    adapter = RecordedAdapter(recording)

    def mount(session: requests.Session) -> None:
        session.mount("https://", adapter)
        session.mount("http://", adapter)

    return Seams(
        session_hook=mount, grpc_channel=server.channel, identity_http=lambda: RecordedHttp(recording)
    )
