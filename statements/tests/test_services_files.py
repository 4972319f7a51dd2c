"""statement_import on the real files of statements/tests/files, as the parsers read them."""

import datetime
import uuid
from pathlib import Path

import pytest

from payments.models import Organization, Payment
from payments.outcomes import PaymentOutcome
from payments.services.crediting import PaymentData, payment_process
from statements.parsers import statement_parse
from statements.services import statement_import

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"
TASK_PAYER = "1234567890"
# The UETRs camt053_001_08.xml gives PAY-328 and ПП-15.
PAY_328 = uuid.UUID("7c1e3a56-9b2d-4f8e-a1c3-2d4b6e8f0a12")
PP_15 = uuid.UUID("11111111-2222-4333-8444-555555555555")


def imported(name: str):
    return statement_import(parsed=statement_parse(data=(FILES / name).read_bytes()), filename=name)


def webhook(operation_id: uuid.UUID, *, amount: int, number: str, date: str):
    return payment_process(
        data=PaymentData(
            operation_id=operation_id,
            amount=amount,
            payer_inn=TASK_PAYER,
            document_number=number,
            document_date=datetime.datetime.fromisoformat(date),
        )
    ).outcome


def test_the_task_example_then_both_1c_files_then_the_camt053_of_the_same_days():
    # The task's example arrives by webhook, under the UETR the bank's camt.053 gives it.
    assert webhook(PAY_328, amount=145000, number="PAY-328", date="2024-04-27T21:00:00Z") is (
        PaymentOutcome.CREDITED
    )

    windows = imported("one_c_1.03_windows.txt")
    assert [(m.operation_id, m.amount) for m in windows.matched] == [(PAY_328, 145000)]
    assert [(c.payer_inn, c.amount) for c in windows.credited] == [("7707083893", 77707)]
    # The line with no payer INN can be neither matched nor credited.
    assert [c.differing_fields for c in windows.conflicts] == [("unidentified",)]

    dos = imported("one_c_1.02_dos.txt")  # overlaps: PAY-328 again, and a missed ПП-15
    assert [m.operation_id for m in dos.matched] == [PAY_328]
    assert [(c.document_number, c.amount) for c in dos.credited] == [("ПП-15", 200000)]

    camt = imported("camt053_001_08.xml")  # names ПП-15's UETR: it takes the 1C credit's place
    assert [m.operation_id for m in camt.matched] == [PAY_328, PP_15]
    assert camt.credited == ()
    assert [c.line_amount for c in camt.conflicts] == [20000]  # no document number or date

    assert webhook(PP_15, amount=200000, number="ПП-15", date="2024-04-25T21:00:00Z") is (
        PaymentOutcome.DUPLICATE
    )
    assert Organization.objects.get(inn=TASK_PAYER).balance == 345000
    assert Organization.objects.get(inn="7707083893").balance == 77707
    assert Payment.objects.count() == 3


@pytest.mark.parametrize(
    "name", ["one_c_1.03_windows.txt", "one_c_1.02_dos.txt", "camt053_001_02.xml"]
)
def test_each_file_imports_once(name):
    first = imported(name)
    again = imported(name)

    assert (first.already_imported, again.already_imported) == (False, True)
    assert again.credited == first.credited
    credited = sum(c.amount for c in first.credited)
    assert sum(o.balance for o in Organization.objects.all()) == credited
