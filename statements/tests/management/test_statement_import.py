"""manage.py statement_import on real files: its exit codes, its summary and its JSON."""

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from payments.models import Organization, Payment
from payments.services.crediting import payment_process
from statements.models import Statement
from statements.tests.files import FILES, FORMATS, INN, TASK_DATE, camt, incoming, one_c
from testsupport.database import test_database_url
from testsupport.deliveries import operation
from testsupport.servers import process_env

pytestmark = pytest.mark.django_db


def run(path, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the command, as manage.py would exit."""
    out, err = _Buffer(), _Buffer()
    try:
        call_command("statement_import", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def getvalue(self) -> str:
        return "".join(self.parts)


def webhook(**overrides) -> None:
    payment_process(
        data=operation(
            **{"amount": 145000, "payer_inn": INN, "document_number": "PAY-328",
               "document_date": TASK_DATE, **overrides}
        )
    )  # fmt: skip


def balance() -> int:
    return Organization.objects.get(inn=INN).balance


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_missed_webhook_is_credited_and_the_command_exits_0(tmp_path, fmt):
    path = tmp_path / "statement"
    path.write_bytes(FORMATS[fmt](incoming()))

    code, out, _ = run(path)

    assert code == 0
    assert "credited 1" in out and "conflicts 0" in out
    assert balance() == 145000
    assert Payment.objects.get().source == "statement"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_line_the_webhook_credited_is_matched_and_credits_nothing(tmp_path, fmt):
    webhook()
    path = tmp_path / "statement"
    path.write_bytes(FORMATS[fmt](incoming()))

    code, out, _ = run(path, "--json")

    report = json.loads(out)
    assert code == 0
    assert (len(report["matched"]), report["credited"]) == (1, [])
    assert balance() == 145000


def test_json_prints_the_report(tmp_path):
    path = tmp_path / "statement.txt"
    path.write_bytes(one_c(incoming(), incoming(900, "PAY-329")))

    code, out, _ = run(path, "--json")

    report = json.loads(out)
    assert code == 0
    assert report["statement"]["format"] == "1c"
    assert report["statement"]["lines_incoming"] == 2
    assert sorted(c["amount"] for c in report["credited"]) == [900, 145000]
    assert report["already_imported"] is False


def test_the_same_file_again_is_already_imported_and_credits_nothing(tmp_path):
    path = tmp_path / "statement.txt"
    path.write_bytes(one_c(incoming()))
    run(path)

    code, out, _ = run(path, "--json")

    assert code == 0
    assert json.loads(out)["already_imported"] is True
    assert balance() == 145000
    assert Statement.objects.count() == 1


def test_an_overlapping_statement_credits_nothing_twice(tmp_path):
    day, month = tmp_path / "day.txt", tmp_path / "month.txt"
    day.write_bytes(one_c(incoming()))
    month.write_bytes(one_c(incoming(), incoming(900, "PAY-329")))
    run(day)

    code, out, _ = run(month, "--json")

    report = json.loads(out)
    assert code == 0
    assert (len(report["matched"]), len(report["credited"])) == (1, 1)
    assert balance() == 145900


@pytest.mark.parametrize("version", ["02", "08"])
def test_a_conflict_is_reported_never_credited_and_the_command_exits_1(tmp_path, version):
    recorded = operation(amount=145000, payer_inn=INN, document_number="PAY-328")
    payment_process(data=recorded)
    path = tmp_path / "statement.xml"
    path.write_bytes(camt(incoming(999, operation_id=recorded.operation_id), version=version))

    code, out, err = run(path)

    assert code == 1
    assert "conflicts 1" in out
    assert "conflict" in out and "amount" in out
    assert "1 conflict(s)" in err
    assert balance() == 145000


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("one_c_totals_mismatch.txt", "line"),
        ("one_c_truncated.txt", "line"),
        ("camt053_totals_mismatch.xml", "TxsSummry"),
        ("camt053_billion_laughs.xml", ""),
        ("camt053_external_entity.xml", ""),
    ],
)
def test_a_refused_file_exits_2_naming_where_and_imports_nothing(name, where):
    code, out, err = run(FILES / name)

    assert code == 2
    assert err.startswith(f"{FILES / name}: refused: ")
    assert where in err
    assert "\n" not in err
    assert out == ""
    assert (Statement.objects.count(), Payment.objects.count()) == (0, 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_totals_mismatch_of_each_format_exits_2(tmp_path, fmt):
    path = tmp_path / "statement"
    declared = "declared_incoming" if fmt.startswith("1c") else "declared_credits"
    path.write_bytes(FORMATS[fmt](incoming(), **{declared: 1}))

    code, _, err = run(path)

    assert code == 2
    assert "refused" in err
    assert (Statement.objects.count(), Payment.objects.count()) == (0, 0)


def test_a_file_that_is_not_there_exits_2(tmp_path):
    code, _, err = run(tmp_path / "missing.txt")

    assert code == 2
    assert "missing.txt" in err


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_manage_py_exits_with_the_codes_an_operator_script_reads(tmp_path):
    """Through manage.py as a process: the real exit status and stderr, not call_command's."""
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(one_c(incoming()))
    bad.write_bytes(one_c(incoming(), declared_incoming=1))
    env = process_env(DATABASE_URL=test_database_url())

    def manage(path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "statement_import", str(path)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    imported, refused = manage(good), manage(bad)

    assert imported.returncode == 0, imported.stderr
    assert refused.returncode == 2
    # The reason is one line (after the development warnings of an open service).
    assert "refused: line 17: ВсегоПоступило" in refused.stderr.splitlines()[-1]
    assert balance() == 145000
