"""A newcomer follows the README, from a fresh clone, exactly as written.

`git clone` of this repository into a temporary folder; `make run` there in the background (its
own .venv, its own embedded PostgreSQL); then the README's "Try it" section, read from the
clone's README.md: every `curl` in it is run as written (only the port differs, so that it does
not clash with a `make run` of the developer's) and its output compared with the `# ...` line
under it (`...` stands for anything; a `# the same again:` line runs the command once more), and
its `make manage` command is run the same way. Then Ctrl-C, and the server and the embedded
database must be gone. Minutes, not seconds: the clone installs its own .venv.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import ROOT, clean_env, free_port, postmaster_pid, wait_until

pytestmark = [
    pytest.mark.processes,
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("git", "make", "curl", "bash")),
        reason="needs git, make, curl and bash",
    ),
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout"),
]

# Installing .venv, creating the database, migrating: generous on a loaded 2-core machine.
STARTUP_SECONDS = 600


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)


def steps(block: str) -> list[tuple[str, str]]:
    """A block as ("command", text) and ("comment", text) steps; a command ends at the first
    line where its quotes are closed and no backslash continues it."""
    found: list[tuple[str, str]] = []
    current: list[str] = []
    for line in block.splitlines():
        if not current and line.startswith("#"):
            found.append(("comment", line.removeprefix("#").strip()))
            continue
        current.append(line)
        text = "\n".join(current)
        if text.endswith("\\"):
            continue
        try:
            shlex.split(text)
        except ValueError:  # an open quote: the JSON body goes on
            continue
        found.append(("command", text))
        current = []
    assert not current, f"unfinished command in the README: {current}"
    return found


def matches(expected: str, actual: str) -> bool:
    pattern = re.escape(expected).replace(re.escape("..."), ".*")
    return re.fullmatch(pattern, actual.strip()) is not None


def newcomer_env(**extra: str) -> dict[str, str]:
    """A shell that never set DATABASE_URL nor entered this project's virtualenv."""
    env = clean_env(**extra)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "DJANGO_SETTINGS_MODULE", "PORT", "HOST"):
        env.pop(name, None)
    return {**env, **extra}


def test_the_readme_works_as_written_from_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    port = free_port()
    env = newcomer_env(PORT=str(port))
    log_path = tmp_path / "make-run.log"
    with log_path.open("w") as log:
        make_run = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
    try:
        serving(make_run, port, log_path)
        follow_try_it(clone, port, env, log_path.read_text())

        os.killpg(make_run.pid, signal.SIGINT)  # Ctrl-C
        make_run.wait(timeout=60)

        wait_until(lambda: not answers(port), timeout=30, what="the server stopped")
        wait_until(
            lambda: not postmaster_pid(clone / ".pgdata"),
            timeout=30,
            what="the embedded PostgreSQL stopped",
        )
        output = log_path.read_text()
        assert "installing .venv" in output
        assert re.search(r"collected +\d+: django", output), "no install progress shown"
        assert "installed." in output
    finally:
        if make_run.poll() is None:
            os.killpg(make_run.pid, signal.SIGKILL)
            make_run.wait()
        if (clone / ".venv" / "bin" / "python").exists():
            subprocess.run(
                [str(clone / ".venv" / "bin" / "python"), "scripts/embedded_db.py", "stop"],
                cwd=clone,
                env=env,
                check=False,
                capture_output=True,
            )
        shutil.rmtree(clone, ignore_errors=True)


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def serving(make_run: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not answers(port):
        if make_run.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log_path.read_text().splitlines()[-30:])
            raise AssertionError(f"make run did not serve on port {port}:\n{tail}")
        time.sleep(1)


def follow_try_it(clone: Path, port: int, env: dict[str, str], make_run_log: str) -> None:
    try_it = section((clone / "README.md").read_text(), "Try it")
    prose = try_it.split("```", 1)[0]
    seeded = set(re.findall(r"^(?:created|found) +(\d{10,12}) ", make_run_log, re.M))
    assert set(re.findall(r"`(\d{10,12})`", prose)) == seeded, "the README's seeded INNs"

    ran: list[str] = []
    for block in code_blocks(try_it):
        last: tuple[str, str] | None = None  # (command, its output)
        again = False
        for kind, text in steps(block):
            if kind == "command":
                output = run(text, clone=clone, port=port, env=env)
                last, again = (text, output), False
                ran.append(text)
            elif text == "the same again:":
                again = True
            else:
                assert last, f"an output with no command before it: {text}"
                command, output = last
                if again:
                    output = run(command, clone=clone, port=port, env=env)
                    again = False
                lines = output.splitlines() if command.startswith("make ") else [output]
                assert any(matches(text, line) for line in lines), (
                    f"README says:\n  {text}\n`{command}` printed:\n{output}"
                )
    assert any(command.startswith("curl") for command in ran)
    assert any(command.startswith("make manage") for command in ran)
    first_inn = re.search(r'"payer_inn": "(\d+)"', ran[0])
    assert first_inn and first_inn.group(1) in seeded, "the first example credits a seeded INN"


def run(command: str, *, clone: Path, port: int, env: dict[str, str]) -> str:
    if command.startswith("curl "):
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    elif not command.startswith("make manage "):
        raise AssertionError(f"this test does not know how to follow: {command}")
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"`{command}` failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout
