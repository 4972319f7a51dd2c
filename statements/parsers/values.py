"""Values both formats write the same way: money in roubles with kopecks, calendar dates, and
the zone a bank's day is in."""

import datetime
import re
from zoneinfo import ZoneInfo

from statements.errors import StatementInvalid

# Roubles with at most two decimals. A third decimal is refused rather than rounded: no kopeck
# is ever invented or lost. A payment is capped as the ledger caps it (payments.apis.MAX_AMOUNT,
# 10**15 minor units); a total or a balance (many payments) as a PostgreSQL bigint holds it.
_AMOUNT = re.compile(r"(?P<sign>-?)(?P<roubles>\d{1,16})(?:\.(?P<kopecks>\d{1,2}))?")
PAYMENT_LIMIT = 10**15
# The banks' own zone when a statement is read without one: a date is a calendar day there.
MOSCOW = ZoneInfo("Europe/Moscow")


def amount_parse(text: str | None, *, where: str, signed: bool = False, zero: bool = False) -> int:
    """Roubles as written ("1450.00", "1450.5", "1450") to minor units.

    A payment unless `zero` (a total may be nothing) or `signed` (a balance may be overdrawn).
    """
    if text is None:
        raise StatementInvalid("the amount is missing", where=where)
    match = _AMOUNT.fullmatch(text)
    minor = 0
    if match is not None:
        minor = int(match["roubles"]) * 100 + int((match["kopecks"] or "0").ljust(2, "0"))
    if match is None or (match["sign"] and not signed) or (minor == 0 and not (zero or signed)):
        kind = "an amount" if signed else "zero or more" if zero else "a positive amount"
        raise StatementInvalid(
            f"{text!r} is not {kind} in roubles with at most two decimals", where=where
        )
    if minor >= PAYMENT_LIMIT and not (zero or signed):
        raise StatementInvalid(f"{text} is more than one payment can be", where=where)
    return -minor if match["sign"] else minor


_DATE_CACHE: dict[tuple[str, str], datetime.date] = {}


def date_parse(text: str | None, *, where: str, layout: str) -> datetime.date:
    """A calendar date in `layout` ("%d.%m.%Y" or "%Y-%m-%d"); equal dates share one object."""
    if text is None:
        raise StatementInvalid("the date is missing", where=where)
    key = (text, layout)
    cached = _DATE_CACHE.get(key)
    if cached is not None:
        return cached
    # strptime alone accepts "1.5.2024"; the fixed width keeps the file's own form.
    if len(text) != 10:
        raise StatementInvalid(f"{text!r} is not a date ({_LAYOUT_NAMES[layout]})", where=where)
    try:
        parsed = datetime.datetime.strptime(text, layout).date()  # noqa: DTZ007 (a calendar date)
    except ValueError:
        raise StatementInvalid(
            f"{text!r} is not a date ({_LAYOUT_NAMES[layout]})", where=where
        ) from None
    if len(_DATE_CACHE) < 10_000:  # a statement spans days, not years; the cache stays small
        _DATE_CACHE[key] = parsed
    return parsed


_LAYOUT_NAMES = {"%d.%m.%Y": "dd.mm.yyyy", "%Y-%m-%d": "yyyy-mm-dd"}
