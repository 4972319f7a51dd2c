"""No module of the service, the harness or the tools grows past MAX_LINES (issue 21).

Every module of core, payments, statements, scripts, loadtest and testsupport, tests and
migrations aside, has at most MAX_LINES lines: a longer one holds more than one concern and is
split by concern, one home per concern (docs/architecture.md), with clear module names.
"""

from tests.processes import ROOT

MAX_LINES = 350
PACKAGES = ("core", "payments", "statements", "scripts", "loadtest", "testsupport")
# Known to be over, for now: each entry says why and who removes it. The list only shrinks.
ALLOWED: set[str] = set()


def modules_over(limit: int) -> dict[str, int]:
    """Every non-test, non-migration module of PACKAGES longer than `limit` lines, by path."""
    over = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                over[path.relative_to(ROOT).as_posix()] = lines
    return over


def test_no_module_is_over_the_limit():
    over = {path: lines for path, lines in modules_over(MAX_LINES).items() if path not in ALLOWED}
    assert not over, f"modules over {MAX_LINES} lines (split them by concern): " + ", ".join(
        f"{path} ({lines})" for path, lines in sorted(over.items())
    )


def test_the_allowed_list_names_only_modules_still_over():
    # An entry left behind after its split would let that module grow back unnoticed.
    stale = sorted(ALLOWED - modules_over(MAX_LINES).keys())
    assert not stale, f"remove from ALLOWED (no longer over {MAX_LINES} lines): {', '.join(stale)}"
