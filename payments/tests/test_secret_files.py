"""Every secret setting also reads NAME_FILE (Docker and Kubernetes secrets).

Before: only the environment variable was read, so a server given SECRET_KEY_FILE and friends
ran on the development defaults (and, with DEBUG=0, refused to start: payments.E001-E003).
"""

import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from payments.webhook_signing import webhook_sign_headers
from testsupport.database import test_database_url
from testsupport.deliveries import payload
from testsupport.launch import ROOT
from testsupport.servers import PRODUCTION_ENV, uvicorn_server

SECRET_SETTINGS = [
    "SECRET_KEY",
    "BANK_WEBHOOK_SECRETS",
    "API_TOKENS",
    "METRICS_TOKEN",
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
]

PRINT_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps({name: getattr(settings, "
    f"name) for name in {SECRET_SETTINGS!r}}}))"
)


def settings_loaded(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def secret_files(tmp_path, values: dict[str, str]) -> dict[str, str]:
    """Write each value to its own file (with the trailing newline editors add); return the
    NAME_FILE variables, with NAME itself emptied."""
    env = {}
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")
        env |= {f"{name}_FILE": str(path), name: ""}
    return env


def test_every_secret_setting_reads_its_file(tmp_path):
    values = {
        "SECRET_KEY": "from-a-file-secret-key",
        "BANK_WEBHOOK_SECRETS": (
            "whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQ=,whsec_bmV3LW5ldy1uZXctbmV3LW5ldy0="
        ),
        "API_TOKENS": "token-one-from-a-file,token-two-from-a-file",
        "METRICS_TOKEN": "metrics-token-from-a-file",
        "DATABASE_URL": "postgresql://serving@db.example/payments",
        "DATABASE_OWNER_URL": "postgresql://owner@db.example/payments",
    }
    loaded = settings_loaded(secret_files(tmp_path, values))

    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.splitlines()[-1]) == {
        **values,
        "BANK_WEBHOOK_SECRETS": values["BANK_WEBHOOK_SECRETS"].split(","),
        "API_TOKENS": values["API_TOKENS"].split(","),
    }


@pytest.mark.parametrize("name", SECRET_SETTINGS)
def test_a_secret_set_both_ways_is_refused(tmp_path, name):
    env = {**secret_files(tmp_path, {name: "from-the-file"}), name: "from-the-environment"}
    loaded = settings_loaded(env)

    assert loaded.returncode != 0
    assert f"Set {name} or {name}_FILE, not both" in loaded.stderr


@pytest.mark.django_db(transaction=True)
async def test_production_server_runs_on_secrets_from_files(tmp_path):
    values = {
        name: PRODUCTION_ENV[name]
        for name in ("SECRET_KEY", "BANK_WEBHOOK_SECRETS", "API_TOKENS", "METRICS_TOKEN")
    }
    env = {
        **PRODUCTION_ENV,
        **secret_files(tmp_path, {**values, "DATABASE_URL": test_database_url()}),
    }
    body = json.dumps(payload()).encode()
    headers = {
        "content-type": "application/json",
        **webhook_sign_headers(
            secret=values["BANK_WEBHOOK_SECRETS"],
            body=body,
            msg_id=f"msg_{uuid.uuid4()}",
            timestamp=int(time.time()),
        ),
    }
    with uvicorn_server(workers=1, **env) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            credited = await client.post("/api/webhook/bank/", content=body, headers=headers)
            metrics = await client.get(
                "/metrics", headers={"Authorization": f"Bearer {values['METRICS_TOKEN']}"}
            )
            balance = await client.get(
                f"/api/organizations/{payload()['payer_inn']}/balance/",
                headers={"Authorization": f"Bearer {values['API_TOKENS']}"},
            )

    assert (credited.status_code, credited.json()["status"]) == (200, "credited")
    assert metrics.status_code == 200
    assert balance.status_code == 200
