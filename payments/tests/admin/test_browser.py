"""The operator's journey in a real browser (the system's Chromium, driven by Playwright) against a
real uvicorn in production configuration: DEBUG=0, signatures and read tokens required, secure
cookies, the production security headers, static files from collectstatic.

Django's test client sends no Origin header, so it could not see that the admin refused every
form under `Referrer-Policy: no-referrer` (Chromium then sends `Origin: null`): this can.

Each step that fails leaves a screenshot in BROWSER_ARTIFACTS_DIR (default: tmp/browser/ in the
repository). With CONSOLE_SCREENSHOTS_DIR set, the journey also saves the 1366 px screenshots
that docs/operations.md shows.

Skipped, saying why, when /usr/bin/chromium (Debian's `chromium` package) or the playwright
package is missing; Playwright never downloads a browser here.
"""

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User

from payments.models import Organization
from payments.services.crediting import payment_accept, payment_process
from testsupport.deliveries import operation, signing_snippet_run
from testsupport.launch import ROOT
from testsupport.servers import PRODUCTION_ENV, PRODUCTION_SECRET, uvicorn_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WIDTH, HEIGHT = 1366, 900
USERNAME, PASSWORD = "operator", "first-Password-4817"
INN, OTHER_INN = "7707083893", "500100732259"
NBSP = "\u00a0"
# 21:00 UTC on 27 April: midnight on 28 April in Moscow.
DOCUMENT_DATE = datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc)

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests skipped: {CHROMIUM} is missing (apt-get install chromium)",
        allow_module_level=True,
    )
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    pytest.skip(
        "browser tests skipped: the playwright package is missing (pip install -e '.[dev]')",
        allow_module_level=True,
    )

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def console_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """A production-configured server showing times in Moscow, with collected static files."""
    static_root = tmp_path_factory.mktemp("static")
    env = {
        **PRODUCTION_ENV,
        "DISPLAY_TIME_ZONE": "Europe/Moscow",
        "STATIC_ROOT": str(static_root),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    with uvicorn_server(workers=1, **env) as url:
        yield url


@pytest.fixture
def artifacts() -> Path:
    directory = Path(os.environ.get("BROWSER_ARTIFACTS_DIR", ROOT / "tmp" / "browser"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser_page(artifacts) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


class Journey:
    """Names each step; a failing step leaves a screenshot named after it."""

    def __init__(self, page: Page, artifacts: Path, name: str):
        self.page, self.artifacts, self.name, self.number = page, artifacts, name, 0

    @contextlib.contextmanager
    def step(self, title: str):
        self.number += 1
        try:
            yield
        except Exception as exc:
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            path = self.artifacts / f"{self.name}-{self.number:02d}-{slug}.png"
            with contextlib.suppress(Exception):
                self.page.screenshot(path=path, full_page=True)
            raise AssertionError(
                f"step {self.number} '{title}' failed (screenshot: {path})"
            ) from exc

    def document(self, name: str) -> None:
        """Save this page for docs/operations.md when CONSOLE_SCREENSHOTS_DIR is set."""
        if directory := os.environ.get("CONSOLE_SCREENSHOTS_DIR"):
            Path(directory).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=Path(directory) / f"{name}.png")


@pytest.fixture
def seeded() -> str:
    """An organization with a history, another one, a pending payment; returns an operation id
    of the first organization. Requested before browser_page: Django refuses database calls
    while Playwright's event loop runs in this thread."""
    User.objects.create_superuser(USERNAME, "operator@example.com", PASSWORD)
    operations = []
    for number in range(12):
        data = operation(
            amount=145000 + number * 1_234_567,
            payer_inn=INN if number % 4 else OTHER_INN,
            document_number=f"PAY-{328 + number}",
            document_date=DOCUMENT_DATE + timedelta(hours=7 * number),
        )
        payment_process(data=data)
        operations.append(data.operation_id)
    payment_accept(
        data=operation(
            amount=99_000, payer_inn=INN, document_number="PAY-400", document_date=DOCUMENT_DATE
        )
    )
    Organization.objects.filter(inn=INN).update(name="Roga i Kopyta LLC")
    return str(operations[1])


def log_in(page: Page, base: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(USERNAME)


def assert_nothing_editable(page: Page) -> None:
    """A view-only page: no form field a person could type into, no save button."""
    fields = page.locator(
        "#content-main form input:not([type=hidden]), #content-main form textarea, "
        "#content-main form select"
    )
    expect(fields).to_have_count(0)
    expect(page.locator("input[name=_save], input[name=_continue]")).to_have_count(0)


def test_operator_journey(console_url, seeded, browser_page, artifacts):
    """Log in, find an organization by part of its INN, open its payments, open one, follow it
    to its balance-log row, see that no money is editable, find a payment by the start of its
    operation id, rename the organization, find where passwords are changed, log out."""
    operation_id = seeded
    page, base = browser_page, console_url
    journey = Journey(page, artifacts, "operator")

    with journey.step("log in"):
        log_in(page, base)
        expect(page.locator("#site-name")).to_have_text("Payments console")
        expect(page.locator("#header")).to_contain_text("Times in Europe/Moscow (UTC+0300)")

    with journey.step("find the organization by part of its INN"):
        page.click("#content-main a:text-is('Organizations')")
        page.fill("#searchbar", INN[:6])
        page.press("#searchbar", "Enter")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        page.click(f"#result_list a:text-is('{INN}')")

    with journey.step("the organization page reads in roubles and links to its records"):
        expect(page.locator("#content h2")).to_have_text(f"{INN} Roga i Kopyta LLC")
        expect(page.locator(".field-balance_display .readonly")).to_have_text(
            re.compile(r"^[\d\u00a0]+,\d\d\u00a0₽$")
        )
        expect(page.locator(".field-payments_link")).to_contain_text("10 payments · 1 pending")
        expect(page.locator(".field-balance_logs_link")).to_contain_text("9 balance changes")
        expect(page.locator(".field-recent_balance_logs")).to_contain_text("MSK")
        # The balance is shown, never offered as a field: only the name can be typed into.
        expect(page.locator("input[name=balance]")).to_have_count(0)
        journey.document("organization")

    with journey.step("open its payments"):
        page.click(".field-payments_link a:has-text('payments')")
        expect(page.locator("#result_list tbody tr")).to_have_count(10)
        expect(page.locator("#changelist-filter")).to_contain_text(INN)
        # Readable at 1366 px: the list fits, no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH

    with journey.step("open one payment"):
        page.click(f"#result_list a:has-text('{operation_id[:8]}')")
        expect(page.locator("#content h2")).to_contain_text(operation_id)
        expect(page.locator("#content h2")).to_contain_text(f"INN {INN}")
        expect(page.locator(".field-amount_detail")).to_contain_text(
            f"13{NBSP}795,67{NBSP}₽ (1379567 minor units)"
        )
        expect(page.locator(".field-document_date_display")).to_contain_text(
            "2024-04-28 07:00:00 MSK"
        )
        assert_nothing_editable(page)
        journey.document("payment")

    with journey.step("follow it to its balance-log row"):
        page.click(".field-balance_log_link a")
        expect(page.locator("#content h2")).to_contain_text(f"INN {INN} +13{NBSP}795,67{NBSP}₽")
        expect(page.locator(".field-operation a")).to_have_text(operation_id)
        assert_nothing_editable(page)

    with journey.step("the balance log of the organization"):
        page.click(f".field-organization_link a:text-is('{INN}')")
        page.click(".field-balance_logs_link a")
        expect(page.locator("#result_list tbody tr")).to_have_count(9)
        expect(page.locator("#result_list")).to_contain_text("MSK")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        journey.document("balance-log")

    with journey.step("find a payment by the start of its operation id, as the bank quotes it"):
        page.goto(f"{base}/admin/payments/payment/")
        page.fill("#searchbar", operation_id[:13].upper())  # a range of the uuid index (0006)
        page.press("#searchbar", "Enter")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list")).to_contain_text(operation_id[:8])

    with journey.step("refused: adding a payment is the admin's own 403 page"):
        response = page.goto(f"{base}/admin/payments/payment/add/")
        assert response.status == 403
        expect(page.locator("#site-name")).to_have_text("Payments console")
        expect(page.locator("#content-main")).to_contain_text("cannot be added")

    with journey.step("rename the organization (a form post)"):
        page.goto(f"{base}/admin/payments/organization/?q={INN}")
        page.click(f"#result_list a:text-is('{INN}')")
        page.fill("#id_name", "Roga i Kopyta JSC")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
        expect(page.locator("#result_list")).to_contain_text("Roga i Kopyta JSC")

    with journey.step("the password is changed with the owner's login, not here"):
        # The serving role may not write password hashes (docs/security.md, "Database roles").
        page.click("#user-tools a:text-is('Change password')")
        expect(page.locator("#content")).to_contain_text('make manage ARGS="changepassword')

    with journey.step("log out (a form post)"):
        page.click("#logout-form button")
        expect(page.locator("#content")).to_contain_text("Thanks for spending some quality time")

    with journey.step("log in again"):
        log_in(page, base)


def test_api_docs_authorize_and_read_a_balance(console_url, seeded, browser_page, artifacts):
    """Swagger UI's Authorize with a read token, then "Try it out" on the balance endpoint."""
    page, base = browser_page, console_url
    journey = Journey(page, artifacts, "api-docs")
    token = PRODUCTION_ENV["API_TOKENS"]

    with journey.step("open the docs"):
        page.goto(f"{base}/api/docs/")
        expect(page.locator(".info .title")).to_contain_text("Bank webhook payments")

    with journey.step("authorize with a read token"):
        page.click("button.authorize")
        # One form per scheme (the read token's, the statement import's): the read one.
        scheme = page.locator(".modal-ux .auth-container").filter(has_text="readToken")
        scheme.locator("input").fill(token)
        scheme.locator("button.authorize").click()
        page.click(".modal-ux button.btn-done >> nth=0")

    with journey.step("read a balance"):
        operation = page.locator("#operations-organizations-organization_balance_get")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("input[placeholder='inn']").fill(INN)
        operation.locator("button.execute").click()
        live = operation.locator(".live-responses-table .response")
        expect(live.locator(".response-col_status")).to_contain_text("200")
        expect(live.locator(".response-col_description")).to_contain_text(f'"inn": "{INN}"')


def test_a_cross_origin_admin_post_is_still_refused(console_url):
    """The relaxed referrer policy keeps CSRF protection: a form posted from another origin,
    with a valid token and cookie, is refused; from the console's own origin it is accepted."""
    with httpx.Client(base_url=console_url) as client:
        login_page = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)[1]
        form = {"csrfmiddlewaretoken": token, "username": "nobody", "password": "wrong"}
        # The cookie is Secure (production); httpx would not send it over plain HTTP.
        cookie = f"csrftoken={login_page.cookies['csrftoken']}"

        def post(origin: str) -> httpx.Response:
            return client.post(
                "/admin/login/", data=form, headers={"Origin": origin, "Cookie": cookie}
            )

        foreign, null, own = post("https://evil.test"), post("null"), post(console_url)

    assert login_page.headers["Referrer-Policy"] == "same-origin"
    assert (foreign.status_code, null.status_code) == (403, 403)
    assert "Form refused" in foreign.text
    assert own.status_code == 200  # the form again, with "Please enter the correct username"
    assert "Please enter the correct username" in own.text


def test_api_docs_send_a_signed_test_delivery(console_url, browser_page, artifacts):
    """The webhook's description says how to sign a delivery; following it word for word in
    Swagger UI ("Try it out") credits the operation on a server that requires signatures."""
    page, base = browser_page, console_url
    journey = Journey(page, artifacts, "api-docs-webhook")

    with journey.step("open the webhook's documentation"):
        page.goto(f"{base}/api/docs/")
        operation = page.locator("#operations-webhook-webhook_bank_deliver")
        operation.locator(".opblock-summary").click()
        snippet = operation.locator("pre code", has_text="import base64").inner_text()

    with journey.step("run the documented snippet with the service's secret"):
        body, headers = signing_snippet_run(snippet, secret=PRODUCTION_SECRET)

    with journey.step("paste the body and the headers, execute"):
        operation.locator("button.try-out__btn").click()
        for name, value in headers.items():
            operation.locator(f"tr[data-param-name='{name}'] input").fill(value)
        operation.locator("textarea.body-param__text").fill(body)
        operation.locator("button.execute").click()
        live = operation.locator(".live-responses-table .response")
        expect(live.locator(".response-col_status")).to_contain_text("200")
        expect(live.locator(".response-col_description")).to_contain_text('"credited"')
