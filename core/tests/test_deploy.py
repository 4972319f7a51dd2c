"""The Docker image and compose file: reproducible, production-safe, and valid.

There is no Docker engine on the development machines, so these check what can be checked
without one: the lock file, the image's build steps, and the compose file (with `docker compose
config` when a compose CLI is installed).
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from importlib import metadata

import httpx
import pytest
import yaml
from django.core.management import call_command
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from core.serve import uvicorn_args
from testsupport.launch import ROOT, free_port, process_stop
from testsupport.servers import spawn

SECRET_SETTINGS = [
    "SECRET_KEY", "DATABASE_URL", "BANK_WEBHOOK_SECRETS", "API_TOKENS", "METRICS_TOKEN",
    "STATEMENT_IMPORT_TOKENS",
]  # fmt: skip
COMPOSE_ENV = {"ALLOWED_HOSTS": "set-by-test"}


def locked(lock: str = "requirements.lock") -> dict[str, str]:
    """A lock file as {canonical name: version}."""
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def runtime_requirements(distribution: str, extras: set[str] = frozenset()) -> list[Requirement]:
    """What a distribution needs here with the given extras (so not our own [dev])."""
    requirements = [Requirement(text) for text in metadata.requires(distribution) or []]
    return [
        requirement
        for requirement in requirements
        if requirement.marker is None
        or any(requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras})
    ]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def closure_checked(lock: str, extras: set[str] = frozenset(), *, beside: dict | None = None):
    """Walk the project's requirements (with extras) through their own: every one not pinned in
    `beside` must be pinned in `lock`, within its specifier, and the lock pins nothing else."""
    pins, beside = locked(lock), beside or {}
    pending = runtime_requirements("bank-webhook-payments", extras)
    seen = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in beside:
            continue
        assert name in pins, f"{name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), requirement
        if (name, frozenset(requirement.extras)) not in seen:
            seen.add((name, frozenset(requirement.extras)))
            pending += runtime_requirements(name, requirement.extras)
    needed = {name for name, _ in seen}
    assert needed == set(pins), f"{lock} pins packages nothing needs: run `make lock`"


def test_lock_pins_every_runtime_dependency_and_its_whole_closure():
    # The image installs the lock with --no-deps: anything missing here is missing there.
    closure_checked("requirements.lock")


def test_dev_lock_pins_every_development_dependency_and_its_whole_closure():
    closure_checked("requirements-dev.lock", {"dev"}, beside=locked())


def test_tests_run_the_locked_versions():
    # `make install` installs with both locks as constraints: what is tested is what ships,
    # with the same tools on every machine.
    for name, version in {**locked(), **locked("requirements-dev.lock")}.items():
        assert metadata.version(name) == version, f"{name}: run `make install`"


def test_the_image_leaves_every_test_folder_out():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    assert "**/tests/" in ignored
    assert [line for line in ignored if line.startswith("!") and "test" in line] == []


@pytest.mark.processes
def test_the_wheel_holds_only_core_and_the_apps(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "tmp", "staticfiles", "docs"),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp_path, source],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {
        "core",
        "payments",
        "statements",
    }
    assert [name for name in names if "/tests/" in name] == []
    assert "core/templates/admin/base_site.html" in names
    assert "statements/templates/admin/statements/upload.html" in names
    assert "payments/migrations/0001_initial.py" in names


def test_image_is_pinned_unprivileged_and_checks_readiness():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^ARG PYTHON_IMAGE=python:[\w.-]+@sha256:[0-9a-f]{64}$", dockerfile, re.M)
    assert "pip install --no-deps -r /tmp/requirements.lock" in dockerfile
    assert re.search(r"^USER app$", dockerfile, re.M)
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^HEALTHCHECK .*\n.*localhost:8000/readyz", dockerfile, re.M)


def test_serve_sh_and_the_image_start_uvicorn_through_core_serve():
    """uvicorn's flags are spelled once, in core.serve."""
    assert "--timeout-graceful-shutdown" in uvicorn_args(port=8000, workers=2)
    for path in ("scripts/serve.sh", "Dockerfile"):
        text = (ROOT / path).read_text()
        assert "-m core.serve" in text, path
        assert not re.search(r"^[^#]*(uvicorn |--workers)", text, re.M), path


@pytest.mark.processes
def test_python_m_core_serve_serves_on_port_from_the_environment():
    port = free_port()
    server = spawn(["-m", "core.serve"], PORT=str(port), WEB_CONCURRENCY="1")
    try:
        for _ in range(150):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("python -m core.serve did not answer /healthz")
    finally:
        process_stop(server)


def test_collectstatic_gathers_admin_and_swagger_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path

    call_command("collectstatic", "--noinput", "--verbosity", "0")

    bundle = tmp_path / "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert bundle.exists()
    assert bundle.with_name(bundle.name + ".gz").exists()
    assert (tmp_path / "admin/css/base.css").exists()


def test_compose_runs_migrate_once_before_the_app_and_worker():
    services = compose()["services"]

    assert set(services) == {"postgres", "migrate", "app", "worker"}
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for after_migration in ("app", "worker"):
        assert services[after_migration]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert services["worker"]["command"] == ["python", "manage.py", "procrastinate", "worker"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


@pytest.mark.parametrize("service", ["migrate", "app", "worker"])
def test_compose_is_production_safe(service):
    definition = compose()
    environment = definition["services"][service]["environment"]
    mounted = set(definition["services"][service]["secrets"])

    assert environment["DEBUG"] == "0"
    # ${NAME:?...}: compose refuses to start without it; no default can leak into production.
    assert "${ALLOWED_HOSTS:?" in environment["ALLOWED_HOSTS"]
    # Secrets are files (NAME_FILE), each a compose secret from ./secrets/ (a missing file
    # stops `docker compose up`), never a value in the environment.
    for name in SECRET_SETTINGS:
        assert name not in environment, name
        secret = name.lower()
        assert environment[f"{name}_FILE"] == f"/run/secrets/{secret}", name
        assert secret in mounted, name
        assert definition["secrets"][secret] == {"file": f"./secrets/{secret}"}, name
    owner_url = environment.get("DATABASE_OWNER_URL_FILE")
    assert owner_url == ("/run/secrets/database_owner_url" if service == "migrate" else None)


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.processes
@pytest.mark.skipif(_compose_cli() is None, reason="no `docker compose` or `docker-compose` CLI")
def test_docker_compose_config_validates_and_requires_the_secrets():
    def config(env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_compose_cli(), "--file", str(ROOT / "compose.yaml"), "config", "--quiet"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
        )

    complete = config(COMPOSE_ENV)
    missing = config({})

    assert complete.returncode == 0, complete.stderr
    assert missing.returncode != 0
    assert "ALLOWED_HOSTS" in missing.stderr


def test_compose_file_has_no_literal_secrets():
    text = (ROOT / "compose.yaml").read_text()

    assert "dev-insecure" not in text
    assert not re.search(r"PASSWORD: (?!\$\{)", text)
