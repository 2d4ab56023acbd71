"""`docs/gcp-export.sh`: read-only gcloud commands only, and, run against a stand-in gcloud answering for the
recorded organization, it writes every file of the raw bundle: the export folder the live collection matches."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clouds.gcp.collect.conftest import EXPORT, HERE
from permscope.clouds.gcp import raw

SCRIPT = HERE.parents[3] / "docs" / "gcp-export.sh"
READ_ONLY_VERBS = {
    "list",
    "describe",
    "search",
    "get",
    "search-all-iam-policies",
    "search-all-resources",
    "print-access-token",
}


def _gcloud_commands(text: str) -> list[list[str]]:
    """Every gcloud command of the script: its words up to the first flag or argument."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return [match.group(1).split() for match in re.finditer(r"(?<![\w-])gcloud((?: [a-z][a-z-]*)+)", code)]


def test_the_script_runs_only_read_only_gcloud_commands() -> None:
    text = SCRIPT.read_text()
    commands = _gcloud_commands(text)
    assert len(commands) >= 20
    wrong = [" ".join(words) for words in commands if words[-1] not in READ_ONLY_VERBS]
    assert wrong == []
    assert os.access(SCRIPT, os.X_OK)
    assert "set -euo pipefail" in text
    assert not re.search(r"\b(curl|wget)\b|method=|-X (POST|PUT|PATCH|DELETE)|urlopen\([^)]*data=", text)


def test_the_script_writes_every_part_file() -> None:
    text = SCRIPT.read_text()
    written = set(re.findall(r"write \w+ ([a-z-]+)\b", text)) | set(
        re.findall(r'"\$OUT/([a-z-]+)\.json"', text)
    )
    assert {name for name in raw.PART_FILES.values()} <= written


class _RunApi(http.server.BaseHTTPRequestHandler):
    """Cloud Run Admin API v2 `services.list` for the stand-in, from the export folder."""

    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        assert self.headers["Authorization"] == "Bearer ya29.fake-token"
        parent = self.path.removeprefix("/v2/").removesuffix("/services")
        services = [
            s
            for s in json.loads((EXPORT / "run-services.json").read_text())
            if s["name"].startswith(parent + "/")
        ]
        body = json.dumps({"services": services}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def run_api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RunApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _canonical(part: Any) -> Any:
    return sorted(json.dumps(i, sort_keys=True) for i in part) if isinstance(part, list) else part


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("python3") is None, reason="needs bash and python3"
)
def test_the_script_writes_the_export_folder_of_the_recorded_organization(
    tmp_path: Path, run_api: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gcloud"
    fake.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{HERE / "fake_gcloud.py"}" "$@"\n')
    fake.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)  # the script's JSON steps: this interpreter, not a shim
    out = tmp_path / "out"
    log = tmp_path / "gcloud.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GCLOUD_EXPORT": str(EXPORT),
        "FAKE_GCLOUD_DENIED": "locked-proj",
        "FAKE_GCLOUD_LOG": str(log),
        "RUN_ENDPOINT": run_api,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), "100", str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} == {f"{name}.json" for name in raw.PART_FILES.values()}
    for name in raw.PART_FILES.values():
        got = json.loads((out / f"{name}.json").read_text())
        want = json.loads((EXPORT / f"{name}.json").read_text())
        assert _canonical(got) == _canonical(want), name
    ran = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(words[0] != "--" for words in ran)
    assert "warning: buckets of projects/locked-proj not read" in done.stderr
    assert sorted(_RunApi.requests) == [
        "/v2/projects/app-prod/locations/europe-west1/services",
        "/v2/projects/data-lake/locations/us-central1/services",
    ]
