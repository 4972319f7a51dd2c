"""The documentation cannot drift from the code.

- Every environment variable core/settings/env.py reads is in docs/configuration.md with its
  real default, and in .env.example; every variable either lists is read by something.
  The list comes from the code: env.py runs here in an empty environment and every call of one
  of its `env_*` readers is recorded with its default, so a new setting needs no edit here.
- Every module path, make target, management command and environment variable that README.md
  and docs/ name exists. docs/decisions/ and docs/benchmarks/ are history and are not checked.
- The production block of docs/security.md passes `check --deploy`, as it says, run as written.

Each check has a test below that plants a drift and sees it caught.
"""

import ast
import base64
import contextlib
import importlib.util
import io
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import dotenv
import pytest
from django.conf import settings
from django.core.management import get_commands

from tests.processes import ROOT, clean_env, suite_database_url

ENV_PY = ROOT / "core" / "settings" / "env.py"
READERS_PY = ROOT / "core" / "settings" / "readers.py"  # env.py's env_* readers
CONFIGURATION = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
# History: what was true when it was written.
HISTORY = ("decisions", "benchmarks")
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        *(
            path
            for path in (ROOT / "docs").rglob("*.md")
            if path.relative_to(ROOT / "docs").parts[0] not in HISTORY
        ),
    ]
)
# Variables the docs name that other programs read: uvicorn, the postgres image, the ASGI scope.
READ_BY_OTHERS = {
    "FORWARDED_ALLOW_IPS",  # uvicorn: whose X-Forwarded-* it trusts
    "REMOTE_ADDR",  # the client address Django sees (a request's META, not a variable)
    "DJANGO_SETTINGS_MODULE",  # Django
    "XDG_RUNTIME_DIR",  # platformdirs, for the embedded PostgreSQL
    "NAME_FILE",  # the docs' name for any secret's file variable (SECRET_KEY_FILE...)
}
VARIABLE = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
NAME = r"[A-Z][A-Z0-9_]*"  # HOST, PORT: read by name where nothing else is upper case
# Code that reads a variable itself, besides the settings: the launchers (HOST, PORT...), make's
# own variables (PYTEST_ARGS...), the tests' and the benchmarks' knobs.
CODE = ["core", "payments", "statements", "testsupport", "tests", "loadtest", "scripts"]


# --- What the code reads --------------------------------------------------------------------------


def settings_defaults(path: Path = ENV_PY) -> tuple[dict[str, object], set[str]]:
    """Every variable env.py reads with its default, and the former names it still reads.

    The module runs in an empty environment, without .env, while a profiler records each call
    of its env_* functions: what runs is what is read, whatever the readers look like.
    """
    defaults: dict[str, object] = {}
    former: set[str] = set()

    def profile(frame, event, _arg):
        code = frame.f_code
        readers = {str(path), str(READERS_PY)}
        if (
            event != "call"
            or code.co_filename not in readers
            or not code.co_name.startswith("env_")
        ):
            return
        local = frame.f_locals
        if "formerly" in local:
            former.add(local["formerly"])
        elif isinstance(local.get("name"), str):
            name = local["name"]
            if "default" in local:
                defaults.setdefault(name, local["default"])
            defaults.setdefault(name, "")

    spec = importlib.util.spec_from_file_location("_env_probe", path)
    module = importlib.util.module_from_spec(spec)
    with _empty_environment(), _no_dotenv():
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            spec.loader.exec_module(module)
        finally:
            sys.setprofile(previous)
    for name, default in _read_directly(path):
        defaults.setdefault(name, default)
    return defaults, former


def _read_directly(path: Path) -> list[tuple[str, object]]:
    """os.environ.get("NAME", default) / os.getenv / os.environ["NAME"] outside the readers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {
            "os.environ.get",
            "os.getenv",
        }:
            args = node.args
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            args = [node.slice]
        else:
            continue
        if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            default = args[1].value if len(args) > 1 and isinstance(args[1], ast.Constant) else ""
            found.append((args[0].value, default))
    return found


@contextlib.contextmanager
def _empty_environment():
    saved = os.environ
    os.environ = {}  # noqa: B003 (restored below; env.py reads os.environ at call time)
    try:
        yield
    finally:
        os.environ = saved  # noqa: B003


@contextlib.contextmanager
def _no_dotenv():
    saved = dotenv.load_dotenv
    dotenv.load_dotenv = lambda *args, **kwargs: False
    try:
        yield
    finally:
        dotenv.load_dotenv = saved


def launcher_variables() -> set[str]:
    """Variables the code outside the settings reads itself, and make's own."""
    paths = [ROOT / "Makefile", ROOT / "conftest.py"]
    for top in CODE:
        paths += [p for p in (ROOT / top).rglob("*") if p.suffix in {".py", ".sh"} and p != ENV_PY]
    found: set[str] = set()
    for path in paths:
        text = path.read_text()
        found |= set(re.findall(rf"environ(?:\.get\(|\.setdefault\(|\[)\s*\"({NAME})\"", text))
        found |= set(re.findall(rf"getenv\(\"({NAME})\"", text))
        found |= set(re.findall(rf"\$\{{?({NAME})\b", text))
        found |= set(re.findall(rf"\$\(({NAME})\)", text))  # make's $(PYTEST_ARGS)
    return found


def code_constants() -> set[str]:
    """Module-level constants of the code (`SETTLE_BATCH`): named in the docs as such, not as
    variables, and existing all the same."""
    found: set[str] = set()
    for top in CODE:
        for path in (ROOT / top).rglob("*.py"):
            found |= set(re.findall(rf"^({VARIABLE})\s*[:=]", path.read_text(), re.M))
    return found


def compose_variables() -> set[str]:
    """What compose.yaml sets for its containers or reads from the host."""
    text = (ROOT / "compose.yaml").read_text()
    return set(re.findall(rf"^\s+({VARIABLE}):", text, re.M)) | set(
        re.findall(rf"\$\{{({VARIABLE})", text)
    )


def rendered(value: object) -> str:
    """A default as the docs write it: booleans 1/0, numbers and text as they are."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


# --- What the docs say ----------------------------------------------------------------------------


def configuration_rows(text: str) -> dict[str, str]:
    """docs/configuration.md's tables: variable -> its default cell. A row naming several
    (`A` / `B`) with as many defaults (`1` / `2`) gives each its own."""
    rows: dict[str, str] = {}
    for first, default in re.findall(r"^\|([^|\n]*)\|([^|\n]*)\|.*\|\s*$", text, re.M):
        names = re.findall(rf"`({VARIABLE}|[A-Z]+)`", first)
        if not names:
            continue
        parts = default.split(" / ")
        for index, name in enumerate(names):
            rows[name] = parts[index] if len(parts) == len(names) else default
    return rows


def documents_default(cell: str, value: object) -> bool:
    text = rendered(value)
    if text == "":
        return re.search(r"\b(empty|unset)\b", cell) is not None
    return f"`{text}`" in cell


def env_example_lines(text: str) -> dict[str, str | None]:
    """.env.example's variables: NAME -> value, or None where the line is commented out."""
    found: dict[str, str | None] = {}
    for match in re.finditer(rf"^(# )?({VARIABLE}|DEBUG|HOST|PORT)=(.*)$", text, re.M):
        commented, name, value = match.groups()
        if not commented or name not in found:
            found[name] = None if commented else value
    return found


def code_of(markdown: str) -> str:
    """The inline code spans and fenced blocks of a document: where names are given as such."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)
    rest = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return "\n".join([*fenced, *re.findall(r"`([^`\n]+)`", rest)])


def named_paths(markdown: str) -> set[str]:
    text = re.sub(r"https?://\S+", "", markdown)
    top = "core|payments|statements|testsupport|tests|scripts|loadtest|docs"
    return set(re.findall(rf"(?<![\w/.-])((?:{top})/[\w./-]*\w)", text))


def named_modules(markdown: str) -> set[str]:
    text = re.sub(r"https?://\S+|\S+@\S+", "", code_of(markdown))
    top = "core|payments|statements|testsupport|loadtest"
    return {
        name
        for name in re.findall(rf"(?<![\w./-])((?:{top})(?:\.[A-Za-z_]\w*)+)", text)
        if ".example" not in name
    }


def named_targets(markdown: str) -> set[str]:
    return set(re.findall(r"(?<![\w$-])make ([a-z][a-z0-9-]*)", code_of(markdown)))


def named_commands(markdown: str) -> set[str]:
    code = code_of(markdown)
    return set(re.findall(r"manage\.py ([a-z_]+)", code)) | set(
        re.findall(r"(?<![A-Z_])ARGS=\"([a-z_]+)", code)
    )


def named_variables(markdown: str) -> set[str]:
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S))
    found = {span for span in spans if re.fullmatch(VARIABLE, span)}
    found |= {m for span in spans for m in re.findall(rf"^({VARIABLE})=", span)}
    for block in re.findall(r"^```(?:bash|sh)\n(.*?)^```", markdown, re.M | re.S):
        found |= set(re.findall(rf"(?:^|\s|export )({VARIABLE})=", block, re.M))
    return found


# --- Existence ------------------------------------------------------------------------------------


def module_resolves(dotted: str) -> bool:
    """A module, a package, or a name defined in one; or a name the code gives as a string
    (a check id such as core.E010, a job's or a logger's name)."""
    parts = dotted.split(".")
    if any(f'"{dotted}"' in path.read_text() for path in (ROOT / parts[0]).rglob("*.py")):
        return True
    path = ROOT
    for index, part in enumerate(parts):
        if (path / part).is_dir() and (path / part / "__init__.py").exists():
            path = path / part
            continue
        if (path / f"{part}.py").is_file():
            module, rest = path / f"{part}.py", parts[index + 1 :]
        else:
            module, rest = path / "__init__.py", parts[index:]
        break
    else:
        return True
    if not rest:
        return True
    name = re.escape(rest[0])
    return (
        re.search(
            rf"^\s*(?:(?:async )?def|class) {name}\b|^{name}\s*[:=]|import (?:\([^)]*)?\b{name}\b",
            module.read_text(),
            re.M,
        )
        is not None
    )


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), re.M))


def known_variables() -> set[str]:
    defaults, former = settings_defaults()
    files = {f"{name}_FILE" for name in defaults}
    # compose's postgres reads POSTGRES_PASSWORD_FILE, the image's form of POSTGRES_PASSWORD.
    compose = compose_variables()
    compose |= {name.removesuffix("_FILE") for name in compose}
    django = {name for name in dir(settings) if name.isupper()}
    django |= {name for name in settings.DATABASES["default"] if name.isupper()}
    known = (
        set(defaults) | former | files | launcher_variables() | compose | django | READ_BY_OTHERS
    )
    return known | code_constants()


def drifts(document: Path) -> list[str]:
    text = document.read_text()
    found = []
    found += [f"no file {path}" for path in named_paths(text) if not (ROOT / path).exists()]
    found += [
        f"no module or name {name}" for name in named_modules(text) if not module_resolves(name)
    ]
    found += [f"no make target {name}" for name in named_targets(text) - make_targets()]
    commands = set(get_commands()) | {"help"}
    found += [f"no management command {name}" for name in named_commands(text) - commands]
    found += [f"no variable {name} is read" for name in named_variables(text) - known_variables()]
    return sorted(found)


# --- The checks -----------------------------------------------------------------------------------


def configuration_drifts(configuration: str, example: str) -> list[str]:
    defaults, former = settings_defaults()
    rows = configuration_rows(configuration)
    lines = env_example_lines(example)
    read = set(defaults) | former | launcher_variables()
    found = []
    for name, default in sorted(defaults.items()):
        if name not in rows:
            found.append(
                f"docs/configuration.md: no row for {name} (default {rendered(default)!r})"
            )
        elif not documents_default(rows[name], default):
            found.append(
                f"docs/configuration.md: {name}'s default is {rendered(default)!r}, "
                f"the row says {rows[name].strip()!r}"
            )
        if name not in lines:
            found.append(f".env.example: no line for {name}")
        elif lines[name] is not None and lines[name] != rendered(default):
            found.append(
                f".env.example: {name}={lines[name]}, but its default is {rendered(default)!r}"
            )
    found += [f"docs/configuration.md: {name} is read by nothing" for name in set(rows) - read]
    compose_only = compose_variables() - read
    found += [
        f".env.example: {name} is read by nothing" for name in set(lines) - read - compose_only
    ]
    return sorted(found)


def test_every_setting_is_documented_with_its_default_both_ways():
    drift = configuration_drifts(CONFIGURATION.read_text(), ENV_EXAMPLE.read_text())
    assert not drift, "\n".join(drift)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_name_the_docs_give_exists(document):
    drift = drifts(document)
    assert not drift, "\n".join(drift)


# --- Planted drifts: each check sees one ----------------------------------------------------------


def test_a_new_setting_is_found_with_its_default(tmp_path):
    source = ENV_PY.read_text() + '\nNEW_KNOB = env_str("NEW_KNOB", "forty-two")\n'
    planted = tmp_path / "env.py"
    planted.write_text(source.replace("parents[2]", "parents[0]"))
    defaults, _ = settings_defaults(planted)
    assert defaults["NEW_KNOB"] == "forty-two"
    assert defaults["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/payments"


def test_a_missing_wrong_or_unread_variable_is_caught():
    configuration = CONFIGURATION.read_text()
    example = ENV_EXAMPLE.read_text()
    defaults, _ = settings_defaults()
    pool_timeout = rendered(defaults["DB_POOL_TIMEOUT_SECONDS"])
    wrong_default = configuration.replace(
        f"| `DB_POOL_TIMEOUT_SECONDS` | `{pool_timeout}` |", "| `DB_POOL_TIMEOUT_SECONDS` | `99` |"
    )
    missing = re.sub(r"^\| `LOG_LEVEL` .*\n", "", configuration, flags=re.M)
    unread = configuration + "| `NO_SUCH_SETTING` | `1` | gone |\n"
    example_wrong = example.replace(
        f"DB_POOL_TIMEOUT_SECONDS={pool_timeout}\n", "DB_POOL_TIMEOUT_SECONDS=99\n"
    )

    assert "DB_POOL_TIMEOUT_SECONDS's default" in "\n".join(
        configuration_drifts(wrong_default, example)
    )
    assert "no row for LOG_LEVEL" in "\n".join(configuration_drifts(missing, example))
    assert "NO_SUCH_SETTING is read by nothing" in "\n".join(configuration_drifts(unread, example))
    assert ".env.example: DB_POOL_TIMEOUT_SECONDS=99" in "\n".join(
        configuration_drifts(configuration, example_wrong)
    )
    assert ".env.example: no line for LOG_LEVEL" in "\n".join(
        configuration_drifts(configuration, re.sub(r"^LOG_LEVEL=.*\n", "", example, flags=re.M))
    )


def test_a_doc_naming_what_does_not_exist_is_caught(tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "See `core/settings.py` and `core.middleware.AllowedHostMiddleware`, run\n"
        '`make deploy` or `make manage ARGS="frobnicate"`, set `NO_SUCH_VARIABLE`.\n'
        "Real ones: `core/settings/env.py`, `core.http.hosts.AllowedHostMiddleware`,\n"
        "`core.E010`, `make run`, `manage.py reconcile`, `DATABASE_URL`, `SECRET_KEY_FILE`.\n"
    )
    assert drifts(document) == [
        "no file core/settings.py",
        "no make target deploy",
        "no management command frobnicate",
        "no module or name core.middleware.AllowedHostMiddleware",
        "no variable NO_SUCH_VARIABLE is read",
    ]


# --- docs/security.md's production block, run as written ------------------------------------------


def production_block() -> str:
    security = (ROOT / "docs" / "security.md").read_text()
    section = security.split("\n## Production configuration\n", 1)[1]
    return re.search(r"^```bash\n(.*?)^```", section, re.M | re.S).group(1)


def production_environment(block: str) -> dict[str, str]:
    """The block's variables, each placeholder filled as its reader would fill it."""
    env = {}
    for name, value in re.findall(rf"^({VARIABLE}|DEBUG)=(.*)$", block, re.M):
        command = re.fullmatch(r"<python3 -c \"(.*)\">", value)
        if command:  # the doc's one-liner, run in this interpreter
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(command.group(1), {})
            value = printed.getvalue().strip()
        elif value.startswith("whsec_"):
            value = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        elif value.startswith("postgresql://"):
            value = suite_database_url()
        elif "<" in value or "..." in value:
            value = secrets.token_urlsafe(32)
        env[name] = value
    return env


@pytest.mark.processes
def test_the_production_block_of_security_md_passes_check_deploy():
    """As the doc says: this environment, then `make manage ARGS="check --deploy ..."`."""
    security = (ROOT / "docs" / "security.md").read_text()
    command = re.search(
        r"`(make manage ARGS=\"check --deploy[^\"]*\")`", security.replace("\n", " ")
    )
    assert command, "docs/security.md no longer gives the check --deploy command"
    env = clean_env(**production_environment(production_block()))
    result = subprocess.run(
        ["bash", "-c", command.group(1)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_production_block_is_complete_for_the_checks():
    """Each variable the production errors ask for is in the block (E010: METRICS_TOKEN)."""
    block = production_environment(production_block())
    for name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BANK_WEBHOOK_SECRETS", "API_TOKENS"):
        assert name in block
    assert "METRICS_TOKEN" in block or "METRICS_INTERNAL_ONLY" in block
