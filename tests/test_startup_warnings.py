"""Each startup warning is printed once per launch: scripts/serve.sh (what `make run` runs) with
migrate, the seed and two uvicorn workers, all of which load Django and its apps' ready()."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.processes import ROOT, clean_env, free_port
from testsupport.launch import ready_within

pytestmark = [pytest.mark.processes]


def test_serve_sh_says_each_startup_warning_once(scratch_database_url, tmp_path):
    port = free_port()
    env = clean_env(
        PY=sys.executable,
        DATABASE_URL=scratch_database_url,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        DEBUG="1",
        BANK_WEBHOOK_SECRETS="",
        API_TOKENS="",
        LOG_LEVEL="INFO",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            ["sh", "scripts/serve.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a launch of its own, as make's launcher gives it
        )
    try:
        healthz = f"http://127.0.0.1:{port}/healthz"
        assert ready_within(server, healthz, timeout=240, interval=0.5), log.read_text()
        # Both workers have loaded the app once /healthz answers twice in a row on new
        # connections; give the second a moment to finish its startup.
        time.sleep(3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    output = log.read_text()

    assert output.count("BANK_WEBHOOK_SECRETS is empty") == 1, output
    assert output.count("API_TOKENS is empty") == 1, output
    assert output.count("Started server process") == 2, "both workers started"
