"""The statement benchmark, small: it runs, and its ledger check passes."""

import pytest

from loadtest.statement_import import _parser, _run

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_small_statement_import_during_a_storm_checks_out(capsys):
    args = _parser().parse_args(
        ["--lines", "400", "--credited", "100", "--storm", "100", "--organizations", "20"]
    )

    assert _run(args) == 0

    err = capsys.readouterr().err
    assert "bench: import: 400 lines" in err
    assert "reconcile ok: True" in err
