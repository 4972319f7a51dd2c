"""uvicorn's own lines and the app's share one format, from the first line on: JSON in
production, the plain development lines with DEBUG=1. Through the real launcher with two
workers, so the supervisor's lines (which no Django ever configures) are included."""

import json
import re
import signal
import subprocess
import sys

import pytest

from tests.processes import free_port
from testsupport.launch import ROOT, ready_within
from testsupport.servers import PRODUCTION_ENV, process_env

pytestmark = [pytest.mark.processes]

PLAIN = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ "


def served_lines(**env: str) -> list[str]:
    """Every line `python -m core.serve` (2 workers) prints from start to a clean stop."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "core.serve"],
        cwd=ROOT,
        env=process_env(PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="INFO", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        healthz = f"http://127.0.0.1:{port}/healthz"
        assert ready_within(server, healthz, timeout=60), "server did not start"
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return [line for line in output.splitlines() if line.strip()]


def test_production_server_logs_only_json_lines():
    lines = served_lines(**PRODUCTION_ENV)

    odd = [line for line in lines if not line.startswith("{")]
    assert not odd, "\n".join(odd)
    records = [json.loads(line) for line in lines]
    messages = " | ".join(record["message"] for record in records)
    assert "Started parent process" in messages
    assert "Uvicorn running on" in messages
    assert all(record["logger"] and record["level"] for record in records)


def test_development_server_logs_plain_lines_in_one_format():
    lines = served_lines(DEBUG="1")

    odd = [line for line in lines if not re.match(PLAIN, line)]
    assert not odd, "\n".join(odd)
    assert any("Started parent process" in line for line in lines)
