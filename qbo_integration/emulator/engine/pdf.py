"""A small, valid one-page PDF of a sales form, as ``GET /invoice/<id>/pdf`` answers it: the company, the document
number and dates, the customer, the lines and the total. Written by hand (PDF 1.4, the standard Helvetica font, no
dependency): five objects, a cross-reference table with exact byte offsets, a trailer and ``%%EOF``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .values import Obj

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
LEFT, TOP, LINE_HEIGHT = 54, 738, 16
MAX_LINES = 32  # what fits on the page below the header; the rest is summed up in one line
COLUMNS = (LEFT, 330, 400, 480)  # description, quantity, rate, amount


def _text(value: Any) -> str:
    """A PDF string literal's inside: latin-1 only (the font's encoding), with its delimiters escaped."""
    text = "" if value is None else str(value)
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("\r", " ").replace("\n", " ")


def _money(value: Any) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return ""


def _show(x: float, y: float, text: Any, size: int = 10, bold: bool = False) -> str:
    font = "F2" if bold else "F1"
    return f"BT /{font} {size} Tf {x:.0f} {y:.0f} Td ({_text(text)}) Tj ET\n"


def _ref_name(ref: Any) -> str:
    return str(ref.get("name") or ref.get("value") or "") if isinstance(ref, dict) else ""


def _line_rows(doc: Obj) -> list[tuple[str, str, str, str]]:
    rows = []
    for line in doc.get("Line") or []:
        detail = line.get("SalesItemLineDetail")
        if line.get("DetailType") == "SubTotalLineDetail":
            continue
        if isinstance(detail, dict):
            label = line.get("Description") or _ref_name(detail.get("ItemRef"))
            qty = detail.get("Qty")
            rows.append((str(label)[:60], "" if qty is None else f"{qty:g}", _money(detail.get("UnitPrice")), ""))
        else:
            rows.append((str(line.get("Description") or line.get("DetailType") or "")[:60], "", "", ""))
        rows[-1] = (*rows[-1][:3], _money(line.get("Amount")))
    return rows


def _content(company_name: str, entity: str, doc: Obj) -> str:
    y = TOP
    out = [_show(LEFT, y, company_name, 16, bold=True)]
    y -= 2 * LINE_HEIGHT
    out.append(_show(LEFT, y, f"{entity} {doc.get('DocNumber') or doc.get('Id')}", 14, bold=True))
    y -= LINE_HEIGHT
    dates = f"Date {doc.get('TxnDate', '')}" + (f"    Due {doc['DueDate']}" if doc.get("DueDate") else "")
    out.append(_show(LEFT, y, dates))
    y -= LINE_HEIGHT
    out.append(_show(LEFT, y, f"Bill to: {_ref_name(doc.get('CustomerRef'))}"))
    y -= 2 * LINE_HEIGHT
    for x, heading in zip(COLUMNS, ("Description", "Qty", "Rate", "Amount"), strict=True):
        out.append(_show(x, y, heading, bold=True))
    rows = _line_rows(doc)
    shown, hidden = rows[:MAX_LINES], rows[MAX_LINES:]
    for row in shown:
        y -= LINE_HEIGHT
        out.extend(_show(x, y, cell) for x, cell in zip(COLUMNS, row, strict=True) if cell)
    if hidden:
        y -= LINE_HEIGHT
        out.append(_show(LEFT, y, f"... and {len(hidden)} more lines"))
    y -= 2 * LINE_HEIGHT
    out.append(_show(COLUMNS[2], y, "Total", bold=True))
    out.append(_show(COLUMNS[3], y, _money(doc.get("TotalAmt")), bold=True))
    if "Balance" in doc:
        y -= LINE_HEIGHT
        out.append(_show(COLUMNS[2], y, "Balance due"))
        out.append(_show(COLUMNS[3], y, _money(doc.get("Balance"))))
    return "".join(out)


def _objects(content: str) -> Iterable[str]:
    yield "<< /Type /Catalog /Pages 2 0 R >>"
    yield "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    yield (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
        "/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
    )
    yield "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    yield "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
    data = content.encode("latin-1")
    yield f"<< /Length {len(data)} >>\nstream\n{content}endstream"


def document_pdf(company_name: str, entity: str, doc: Obj) -> bytes:
    """The PDF of ``doc`` (an Invoice or Estimate as the API renders it): its bytes, latin-1 throughout."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(_objects(_content(company_name, entity, doc)), start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
