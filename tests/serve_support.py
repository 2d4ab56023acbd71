"""A real `permscope serve` in a subprocess for the tests that need one: on a free loopback port, its output in
a file, stopped afterwards; and the memory it holds (from /proc)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PERMSCOPE = [str(Path(sys.executable).parent / "permscope")]  # the installed command, as a user runs it


def permscope(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `permscope` command on the database; its output as text."""
    return subprocess.run(
        [*PERMSCOPE, "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def new_key(database_url: str, *args: str) -> str:
    """The token of a key made with `permscope apikey create ARGS`."""
    created = permscope(database_url, "apikey", "create", *args)
    assert created.returncode == 0, created.stderr
    return next(word for word in created.stdout.split() if word.startswith("psk_"))


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """A running server: its process, port, base URL and output file."""

    process: subprocess.Popen[bytes]
    port: int
    base: str
    log: Path

    def memory_mib(self, field: str = "VmRSS") -> float:
        """The server's resident memory now (VmRSS) or at its peak (VmHWM), in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        pytest.skip("no /proc memory figures on this system")

    def output(self) -> str:
        """Everything the server printed so far (uvicorn's access log included)."""
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    database_url: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """`permscope serve --no-scheduler ARGS` on a free port, answering, stopped afterwards."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *PERMSCOPE,
                "--database-url",
                database_url,
                "serve",
                "--no-scheduler",
                "--port",
                str(port),
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    served = Served(process, port, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 120  # a loaded machine (CI beside other work) starts slowly
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{served.base}/external/authorizationSystems", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, served.output()
                time.sleep(0.2)
        else:
            pytest.fail("permscope serve did not answer within 120 s")
        yield served
    finally:
        process.terminate()
        process.wait(timeout=10)
