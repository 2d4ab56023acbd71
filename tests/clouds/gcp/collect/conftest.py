"""Recorded organizations for the GCP collector's tests: recordings, the gRPC server, and collection options."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from clouds.gcp.collect.recorded import RecordedGrpcServer, Recording, seams
from permscope.clouds.gcp.collect.options import CollectOptions

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "recorded"
EXAMPLE_ORG = RECORDED / "example-org"
EXPORT = HERE / "export" / "example-org"

Record = Callable[..., tuple[Recording, CollectOptions]]


def example_org(*, without: tuple[str, ...] = (), extra: tuple[Path, ...] = ()) -> list[Path]:
    """The example organization's recording files, less some, plus others (which answer first)."""
    files = [path for path in sorted(EXAMPLE_ORG.glob("*.json")) if path.stem not in without]
    return [*extra, *files]


@pytest.fixture
def record() -> Iterator[Record]:
    """`record(files, **options)`: a recording of those files and collection options answering from it."""
    servers: list[RecordedGrpcServer] = []

    def make(files: list[Path], **values: Any) -> tuple[Recording, CollectOptions]:
        recording = Recording.load(*files)
        server = RecordedGrpcServer(recording)
        servers.append(server)
        values.setdefault("organization", None if "project" in values else "100")
        values.setdefault("initial_backoff", 0.001)
        values.setdefault("max_backoff", 0.002)
        options = CollectOptions(credentials=AnonymousCredentials(), seams=seams(recording, server), **values)
        return recording, options

    yield make
    for server in servers:
        server.stop()
