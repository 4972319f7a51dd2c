"""The operator's statement journey in a real browser against a production-configured uvicorn:
upload a 1C file holding a missed webhook, see it credited, open the lines, follow a line to its
payment; a refused file shows why and imports nothing."""

import pytest
from django.contrib.auth.models import User

from payments.services.crediting import payment_process
from payments.tests.admin.test_browser import (  # noqa: F401 (fixtures: the server, the browser)
    PASSWORD,
    USERNAME,
    Journey,
    artifacts,
    browser_page,
    console_url,
    log_in,
)
from statements.tests.files import FILES, INN, TASK_DATE, incoming, one_c
from testsupport.deliveries import operation

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]

# Imported after payments' browser module, which skips this one, saying why, without playwright.
from playwright.sync_api import expect  # noqa: E402


@pytest.fixture
def statement_file(tmp_path) -> str:
    """A 1C file of two incoming lines: PAY-1's webhook came, PAY-328's never did.

    Seeded before browser_page: Django refuses database calls while Playwright's loop runs."""
    User.objects.create_superuser(USERNAME, "operator@example.com", PASSWORD)
    payment_process(
        data=operation(amount=1000, payer_inn=INN, document_number="PAY-1", document_date=TASK_DATE)
    )
    path = tmp_path / "statement-28-04.txt"
    path.write_bytes(one_c(incoming(1000, "PAY-1"), incoming(145000, "PAY-328")))
    return str(path)


def test_operator_imports_a_statement_and_follows_a_credited_line_to_its_payment(
    console_url,  # noqa: F811 (the imported fixtures)
    statement_file,
    browser_page,  # noqa: F811
    artifacts,  # noqa: F811
):
    page, base = browser_page, console_url
    journey = Journey(page, artifacts, "statement")

    with journey.step("log in and open the statements"):
        log_in(page, base)
        page.goto(f"{base}/admin/statements/statement/")

    with journey.step("upload the file: the missed webhook is credited"):
        page.click("text=Import a statement")
        page.set_input_files("#id_file", statement_file)
        page.click("#statement-upload input[type=submit]")
        expect(page.locator("#statement-report")).to_contain_text("1 matched, 1 credited")
        expect(page.locator("#statement-report")).to_contain_text("0 conflicts")
        expect(page.locator("#statement-credited tbody tr")).to_have_count(1)

    with journey.step("the statements list shows it with its counts"):
        page.goto(f"{base}/admin/statements/statement/")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list .field-credited")).to_have_text("1")
        expect(page.locator("#result_list .field-discrepancies")).to_have_text("0")

    with journey.step("open its credited lines, each with its payment"):
        page.click("#result_list .field-credited a")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list .field-result")).to_have_text("Credited")
        expect(page.locator("#result_list .field-payer")).to_have_text(INN)

    with journey.step("follow the credited line to its payment"):
        page.click("#result_list .field-payment_display a")
        expect(page.locator(".field-document_number .readonly")).to_have_text("PAY-328")
        expect(page.locator(".field-status .readonly")).to_have_text("Credited")

    with journey.step("a refused file says where, and imports nothing"):
        page.goto(f"{base}/admin/statements/statement/upload/")
        page.set_input_files("#id_file", str(FILES / "one_c_totals_mismatch.txt"))
        page.click("#statement-upload input[type=submit]")
        expect(page.locator("#statement-refusal")).to_contain_text("line ")
        page.goto(f"{base}/admin/statements/statement/")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)

    with journey.step("conflicts are one filter away"):
        page.goto(f"{base}/admin/statements/statementline/?discrepancy=conflict")
        expect(page.locator("#result_list tbody tr")).to_have_count(0)
