"""Valid bank statement files made from a list of lines: 1C (either encoding, either version)
and camt.053 (.02 or .08), whose totals agree with their lines unless a test says otherwise.

For the tests of the parsers, the import and its surfaces, and the 100,000-line benchmark:
`python -m testsupport.statements bench` prints the parsers' time and peak memory.
"""

import dataclasses
import datetime
import pathlib
import uuid
from collections.abc import Sequence
from xml.sax.saxutils import escape

from statements.types import Direction

ACCOUNT = "40702810900000000001"
SECOND_ACCOUNT = "40702810900000000019"
COUNTERPARTY_ACCOUNT = "40702810000000000002"
DAY = datetime.date(2024, 4, 28)
CREATED_AT = datetime.datetime(2024, 4, 28, 10, 15)  # the bank's local time, as written


@dataclasses.dataclass(frozen=True)
class LineSpec:
    """One payment document of a statement; `amount` in minor units."""

    amount: int
    direction: Direction = Direction.INCOMING
    payer_inn: str | None = "1234567890"
    document_number: str | None = "PAY-328"
    document_date: datetime.date = DAY
    booking_date: datetime.date | None = None  # the document's date unless given
    operation_id: uuid.UUID | None = None  # camt.053 only: UETR (.08) or AcctSvcrRef (.02)
    account: str | None = None  # one of the statement's accounts; the first unless given


def _roubles(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _own(lines: Sequence[LineSpec], account: str, first: str) -> list[LineSpec]:
    return [line for line in lines if (line.account or first) == account]


def _sums(lines: Sequence[LineSpec]) -> tuple[int, int]:
    incoming = sum(line.amount for line in lines if line.direction is Direction.INCOMING)
    outgoing = sum(line.amount for line in lines if line.direction is Direction.OUTGOING)
    return incoming, outgoing


def one_c_statement(
    lines: Sequence[LineSpec],
    *,
    accounts: Sequence[str] = (ACCOUNT,),
    version: str = "1.03",
    encoding: str = "Windows",
    period: tuple[datetime.date, datetime.date] = (DAY, DAY),
    created_at: datetime.datetime | None = CREATED_AT,
    opening_balance: int = 0,
    declared_incoming: int | None = None,
    end_of_file: bool = True,
) -> bytes:
    """A 1CClientBankExchange file: one СекцияРасчСчет per account, one СекцияДокумент per line.

    declared_incoming overrides the first account's ВсегоПоступило (and its КонечныйОстаток so
    the balance still adds up): a file whose totals disagree with its documents.
    end_of_file=False leaves out КонецФайла: a truncated file.
    """
    start, end = (day.strftime("%d.%m.%Y") for day in period)
    out = ["1CClientBankExchange", f"ВерсияФормата={version}", f"Кодировка={encoding}"]
    out += ["Отправитель=Бухгалтерия", "Получатель="]
    if created_at is not None:
        out += [f"ДатаСоздания={created_at:%d.%m.%Y}", f"ВремяСоздания={created_at:%H:%M:%S}"]
    out += [f"ДатаНачала={start}", f"ДатаКонца={end}"]
    out += [f"РасчСчет={account}" for account in accounts]
    out.append("Документ=Платежное поручение")
    for index, account in enumerate(accounts):
        incoming, outgoing = _sums(_own(lines, account, accounts[0]))
        if index == 0 and declared_incoming is not None:
            incoming = declared_incoming
        out += [
            "СекцияРасчСчет",
            f"ДатаНачала={start}",
            f"ДатаКонца={end}",
            f"РасчСчет={account}",
            f"НачальныйОстаток={_roubles(opening_balance)}",
            f"ВсегоПоступило={_roubles(incoming)}",
            f"ВсегоСписано={_roubles(outgoing)}",
            f"КонечныйОстаток={_roubles(opening_balance + incoming - outgoing)}",
            "КонецРасчСчет",
        ]
    for line in lines:
        out += _one_c_document(line, accounts[0])
    if end_of_file:
        out.append("КонецФайла")
    codec = {"Windows": "cp1251", "DOS": "cp866"}[encoding]
    return ("\r\n".join(out) + "\r\n").encode(codec)


def _one_c_document(line: LineSpec, first: str) -> list[str]:
    own = line.account or first
    incoming = line.direction is Direction.INCOMING
    payer, receiver = (COUNTERPARTY_ACCOUNT, own) if incoming else (own, COUNTERPARTY_ACCOUNT)
    booked = (line.booking_date or line.document_date).strftime("%d.%m.%Y")
    return [
        "СекцияДокумент=Платежное поручение",
        f"Номер={line.document_number or ''}",
        f"Дата={line.document_date:%d.%m.%Y}",
        f"Сумма={_roubles(line.amount)}",
        f"ПлательщикСчет={payer}",
        f"ДатаСписано={booked}" if not incoming else "ДатаСписано=",
        f"Плательщик=ИНН {line.payer_inn or ''} ООО Ромашка",
        f"ПлательщикИНН={line.payer_inn or ''}",
        f"ПолучательСчет={receiver}",
        f"ДатаПоступило={booked}" if incoming else "ДатаПоступило=",
        "Получатель=ООО Лютик",
        "ПолучательИНН=7701234567",
        "НазначениеПлатежа=Оплата по счету",
        "КонецДокумента",
    ]


def camt053_statement(
    lines: Sequence[LineSpec],
    *,
    accounts: Sequence[str] = (ACCOUNT,),
    version: str = "08",
    period: tuple[datetime.date, datetime.date] = (DAY, DAY),
    created_at: datetime.datetime = CREATED_AT,
    opening_balance: int = 0,
    summary: bool = True,
    declared_credits: int | None = None,
) -> bytes:
    """A camt.053.001.<version> document ("02" or "08"): one Stmt per account, one Ntry per line.

    declared_credits overrides the first statement's TxsSummry/TtlCdtNtries/Sum.
    """
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">',
        "<BkToCstmrStmt>",
        f"<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>{created_at.isoformat()}</CreDtTm></GrpHdr>",
    ]
    for index, account in enumerate(accounts):
        own = _own(lines, account, accounts[0])
        credits, debits = _sums(own)
        out += [
            f"<Stmt><Id>STMT-{index + 1}</Id><CreDtTm>{created_at.isoformat()}</CreDtTm>",
            f"<FrToDt><FrDtTm>{period[0]}T00:00:00</FrDtTm>"
            f"<ToDtTm>{period[1]}T23:59:59</ToDtTm></FrToDt>",
            f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>RUB</Ccy></Acct>",
            _camt_balance("OPBD", opening_balance, period[0]),
            _camt_balance("CLBD", opening_balance + credits - debits, period[1]),
        ]
        if summary:
            declared = declared_credits if index == 0 and declared_credits is not None else credits
            count_in = sum(1 for line in own if line.direction is Direction.INCOMING)
            out.append(
                f"<TxsSummry><TtlNtries><NbOfNtries>{len(own)}</NbOfNtries></TtlNtries>"
                f"<TtlCdtNtries><NbOfNtries>{count_in}</NbOfNtries>"
                f"<Sum>{_roubles(declared)}</Sum></TtlCdtNtries>"
                f"<TtlDbtNtries><NbOfNtries>{len(own) - count_in}</NbOfNtries>"
                f"<Sum>{_roubles(debits)}</Sum></TtlDbtNtries></TxsSummry>"
            )
        out += [_camt_entry(line, version) for line in own]
        out.append("</Stmt>")
    out += ["</BkToCstmrStmt>", "</Document>", ""]
    return "\n".join(out).encode("utf-8")


def _camt_balance(code: str, amount: int, day: datetime.date) -> str:
    sign = "CRDT" if amount >= 0 else "DBIT"
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="RUB">{_roubles(abs(amount))}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def _camt_entry(line: LineSpec, version: str) -> str:
    sign = "CRDT" if line.direction is Direction.INCOMING else "DBIT"
    status = "<Sts>BOOK</Sts>" if version == "02" else "<Sts><Cd>BOOK</Cd></Sts>"
    booked = line.booking_date or line.document_date
    reference = ""
    refs = "<EndToEndId>NOTPROVIDED</EndToEndId>"
    if line.operation_id is not None:
        if version == "02":
            reference = f"<AcctSvcrRef>{line.operation_id}</AcctSvcrRef>"
        else:
            refs += f"<UETR>{line.operation_id}</UETR>"
    party = ""
    if line.payer_inn is not None:
        party = (
            f"<Nm>OOO Romashka</Nm><Id><OrgId><Othr><Id>{escape(line.payer_inn)}</Id>"
            "<SchmeNm><Prtry>INN</Prtry></SchmeNm></Othr></OrgId></Id>"
        )
        party = f"<Dbtr>{party}</Dbtr>" if version == "02" else f"<Dbtr><Pty>{party}</Pty></Dbtr>"
    document = ""
    if line.document_number is not None:
        document = (
            "<RmtInf><Strd><RfrdDocInf>"
            f"<Nb>{escape(line.document_number)}</Nb><RltdDt>{line.document_date}</RltdDt>"
            "</RfrdDocInf></Strd></RmtInf>"
        )
    return (
        f'<Ntry><Amt Ccy="RUB">{_roubles(line.amount)}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"{status}<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>"
        f"{reference}<BkTxCd/><NtryDtls><TxDtls><Refs>{refs}</Refs>"
        f"<RltdPties>{party}</RltdPties>{document}</TxDtls></NtryDtls></Ntry>"
    )


# The peak is VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through exec.
_MEASURE = """
import re, sys, time
from statements.parsers import statement_parse
def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1])
data = open(sys.argv[1], "rb").read()
before = peak()
started = time.perf_counter()
parsed = statement_parse(data=data)
seconds = time.perf_counter() - started
print(len(parsed.lines), seconds, before, peak())
"""


@dataclasses.dataclass(frozen=True)
class ParseMeasurement:
    label: str
    lines: int
    file_bytes: int
    seconds: float
    rss_before_kib: int  # the interpreter, the parsers and the file's bytes
    rss_peak_kib: int


def benchmark_specs(count: int) -> list[LineSpec]:
    """`count` lines, mostly incoming, with distinct identities (as a month of a busy account)."""
    return [
        LineSpec(
            amount=100 + index,
            direction=Direction.OUTGOING if index % 10 == 9 else Direction.INCOMING,
            payer_inn=f"{7700000000 + index % 5000}",
            document_number=f"PAY-{index}",
            document_date=DAY - datetime.timedelta(days=index % 30),
            operation_id=uuid.UUID(int=index + 1) if index % 2 else None,
        )
        for index in range(count)
    ]


def parse_measure(path: str, label: str) -> ParseMeasurement:
    """Parse the file in a fresh interpreter: its time and its peak resident memory."""
    import os
    import subprocess
    import sys

    output = subprocess.run(
        [sys.executable, "-c", _MEASURE, path],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parent.parent)},
    ).stdout.split()
    return ParseMeasurement(
        label=label,
        lines=int(output[0]),
        file_bytes=os.path.getsize(path),
        seconds=float(output[1]),
        rss_before_kib=int(output[2]),
        rss_peak_kib=int(output[3]),
    )


def _bench(count: int) -> None:
    import tempfile

    specs = benchmark_specs(count)
    makers = {
        "1C 1.03 cp1251": lambda: one_c_statement(specs),
        "camt.053.001.08": lambda: camt053_statement(specs),
        "camt.053.001.02": lambda: camt053_statement(specs, version="02"),
    }
    with tempfile.TemporaryDirectory() as folder:
        for label, make in makers.items():
            path = f"{folder}/statement"
            with open(path, "wb") as file:
                file.write(make())
            m = parse_measure(path, label)
            print(
                f"{m.label:18} {m.lines:>7} lines  {m.file_bytes / 2**20:6.1f} MiB file  "
                f"{m.seconds:6.2f} s  peak RSS {m.rss_peak_kib / 1024:6.1f} MiB "
                f"(+{(m.rss_peak_kib - m.rss_before_kib) / 1024:.1f} MiB while parsing)"
            )


if __name__ == "__main__":
    import sys

    _bench(int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "bench" else 100_000)
