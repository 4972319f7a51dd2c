"""How money and time read on the operators' screens. The API keeps integers and UTC.

Money is stored and sent as integer minor units (kopecks); a person reads `1 450,00 ₽`, grouped
and separated as Russian does (no-break space between thousands, comma before the kopecks), so
an amount never wraps across lines. Times are shown in the current time zone, which the admin
sets to DISPLAY_TIME_ZONE (core.http.fastpath.middleware.AdminTimeZoneMiddleware), always with the
zone named.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone

NBSP = "\u00a0"
CURRENCY_SIGN = "₽"
MINOR_UNITS = 100


def money_format(minor: int) -> str:
    """`145000` -> `1 450,00 ₽` (the spaces are no-break spaces)."""
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), MINOR_UNITS)
    grouped = f"{major:,}".replace(",", NBSP)
    return f"{sign}{grouped},{cents:02d}{NBSP}{CURRENCY_SIGN}"


def money_parse(text: str) -> int:
    """What an operator types (`1450`, `1 450,5`, `1450.50 ₽`) -> minor units; ValueError if it
    is not an amount with at most two decimals."""
    cleaned = text.replace(CURRENCY_SIGN, "").replace(NBSP, "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"Not an amount: {text!r}") from None
    # Before any arithmetic: NaN, sNaN (which raises on use) and Infinity are not amounts.
    if not amount.is_finite():
        raise ValueError(f"Not an amount: {text!r}")
    minor = amount * MINOR_UNITS
    if minor != minor.to_integral_value():
        raise ValueError(f"Not an amount with at most two decimals: {text!r}")
    return int(minor)


def datetime_format(value: datetime | None, *, seconds: bool = True) -> str:
    """An aware datetime in the current time zone, with the zone's abbreviation: `2024-04-28
    00:00:00 MSK` (lists leave out the seconds to stay narrow)."""
    if value is None:
        return "-"
    return timezone.localtime(value).strftime(f"%Y-%m-%d %H:%M{':%S' if seconds else ''} %Z")
