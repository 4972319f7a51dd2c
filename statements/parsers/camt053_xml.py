"""Reading camt.053 XML: qualified paths found in C, text, the version, and the values written
the same way everywhere in it (RUB amounts, dates, times in the bank's zone).
"""

import datetime

# Only the Element type; every parse goes through defusedxml (camt053.py).
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from statements.errors import StatementInvalid
from statements.parsers.values import amount_parse, date_parse

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
VERSIONS = ("camt.053.001.02", "camt.053.001.08")
CURRENCY = "RUB"
DATE_LAYOUT = "%Y-%m-%d"


class Names:
    """Paths of local names as tuples of qualified tags, so each step is a find() done in C.

    (ElementPath's namespaced paths cost more than the parsing itself on 100,000 entries.)
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._paths: dict[str, tuple[str, ...]] = {}

    def tags(self, path: str) -> tuple[str, ...]:
        tags = self._paths.get(path)
        if tags is None:
            tags = tuple(f"{{{self.namespace}}}{step}" for step in path.split("/"))
            self._paths[path] = tags
        return tags

    def tag(self, local: str) -> str:
        return self.tags(local)[0]


def element_find(element: ET.Element, path: str, names: Names) -> ET.Element | None:
    found: ET.Element | None = element
    for tag in names.tags(path):
        found = found.find(tag)
        if found is None:
            return None
    return found


def element_findall(element: ET.Element, path: str, names: Names) -> list[ET.Element]:
    found = [element]
    for tag in names.tags(path):
        found = [child for parent in found for child in parent.findall(tag)]
    return found


def version_of(tag: str) -> str:
    namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    version = namespace.removeprefix(NAMESPACE_PREFIX)
    if not version.startswith("camt.053.") or tag.rpartition("}")[2] != "Document":
        raise StatementInvalid(
            f"the root element is not a camt.053 Document (it is {tag})", where="Document"
        )
    if version not in VERSIONS:
        raise StatementInvalid(
            f"{version} is not supported (supported: {', '.join(VERSIONS)})", where="Document"
        )
    return version


def element_text(element: ET.Element, path: str, names: Names) -> str | None:
    found = element_find(element, path, names)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def element_raw_text(element: ET.Element, path: str, names: Names) -> str | None:
    """The text exactly as written (a document number is compared exactly: decision 0015)."""
    found = element_find(element, path, names)
    return found.text if found is not None and found.text else None


def moment_parse(text: str | None, *, where: str, tz: ZoneInfo) -> datetime.datetime:
    """An ISO date and time in the bank's zone; one without an offset is the bank's local time."""
    try:
        moment = datetime.datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        raise StatementInvalid(f"{text!r} is not an ISO date and time", where=where) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def money_read(element: ET.Element, path: str, names: Names, where: str) -> int:
    """A positive RUB amount at `path` (an `Amt` with its `Ccy` attribute)."""
    found = element_find(element, path, names)
    if found is None:
        raise StatementInvalid("the amount is missing", where=where)
    currency = found.get("Ccy")
    if currency != CURRENCY:
        raise StatementInvalid(
            f"the amount is in {currency or 'no currency (Ccy)'}; only {CURRENCY} statements"
            " are imported",
            where=where,
        )
    return amount_parse((found.text or "").strip(), where=where)


def date_read(
    element: ET.Element, path: str, names: Names, where: str, tz: ZoneInfo
) -> datetime.date | None:
    """`path/Dt`, else the bank's calendar day of `path/DtTm`."""
    day = element_text(element, f"{path}/Dt", names)
    if day is not None:
        return date_parse(day, where=f"{where}/Dt", layout=DATE_LAYOUT)
    moment = element_text(element, f"{path}/DtTm", names)
    if moment is not None:
        return moment_parse(moment, where=f"{where}/DtTm", tz=tz).date()
    return None
