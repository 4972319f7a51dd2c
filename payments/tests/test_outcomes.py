"""One vocabulary: the outcomes, error codes and metrics that docs/api.md and docs/operations.md
name are exactly those the code defines (payments.outcomes, the ErrorCode enums, the registry).
"""

import re
from pathlib import Path

import pytest
from django.core.management import get_commands
from prometheus_client import REGISTRY

from core.errors import ErrorCode
from core.observability import metrics as core_metrics  # noqa: F401 (registers them)
from payments import metrics  # noqa: F401 (registers them)
from payments.errors import PaymentsErrorCode
from payments.outcomes import WEBHOOK_OUTCOMES, PaymentOutcome
from testsupport.launch import ROOT

API_DOC = ROOT / "docs" / "api.md"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
ERROR_CODES = {code.value for code in (*ErrorCode, *PaymentsErrorCode)}


def section(path: Path, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level."""
    text = path.read_text()
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def first_column(table_text: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", table_text, re.M))


def metric_names() -> dict[str, str]:
    """Each metric as the docs write it (counters with _total), by the apps' own prefixes."""
    names = {}
    for family in REGISTRY.collect():
        if family.name.startswith(("payments_", "statements_")):
            suffix = "_total" if family.type == "counter" else ""
            names[family.name + suffix] = family.type
    return names


def test_the_error_code_table_lists_every_code_and_nothing_else():
    assert first_column(section(API_DOC, "Error codes")) == ERROR_CODES


def test_every_error_code_the_api_doc_shows_exists():
    shown = set(re.findall(r'"?code"?: "([a-z_]+)"', API_DOC.read_text()))
    shown |= set(re.findall(r"\b\d{3} `([a-z_]+)`", API_DOC.read_text()))

    assert shown - ERROR_CODES == set()


def test_the_webhook_answers_name_every_outcome_and_nothing_else():
    webhook = section(API_DOC, "`POST /api/webhook/bank/`")

    assert set(re.findall(r'"status": "([a-z_]+)"', webhook)) == {o.value for o in PaymentOutcome}


def test_the_metrics_table_lists_every_metric_and_nothing_else():
    assert first_column(section(OPERATIONS_DOC, "Metrics")) == set(metric_names())


def test_the_outcome_label_lists_every_outcome_and_nothing_else():
    [row] = [
        line
        for line in section(OPERATIONS_DOC, "Metrics").splitlines()
        if line.startswith("| `payments_webhook_requests_total`")
    ]
    meaning = row.rsplit("|", 2)[-2]

    assert re.findall(r"`([a-z_]+)`", meaning) == list(WEBHOOK_OUTCOMES)


@pytest.mark.parametrize("doc", [API_DOC, OPERATIONS_DOC], ids=lambda path: path.name)
def test_every_metric_outcome_and_command_the_docs_name_exists(doc):
    """PromQL, alert rules and prose included: a histogram by its _bucket/_sum/_count series,
    and `payments_...` names that are management commands."""
    text = doc.read_text()
    series = {
        name + suffix
        for name, kind in metric_names().items()
        for suffix in (("", "_bucket", "_sum", "_count") if kind == "histogram" else ("",))
    }
    # The database roles docs/security.md recommends are names, not metrics.
    roles = {"payments_app", "payments_owner"}
    named = set(re.findall(r"\b(?:payments|statements)_[a-z_]+", text))
    named -= set(get_commands()) | roles
    outcomes = set(re.findall(r'outcome=~?"([a-z_|]+)"', text))
    outcomes |= set(re.findall(r'outcome!~"([a-z_|]+)"', text))
    labels = {value for match in outcomes for value in match.split("|")}

    assert named - series == set()
    assert labels - set(WEBHOOK_OUTCOMES) == set()
