"""Reading supplier/competitor price lists from CSV and XLSX. Pure: bytes in, rows out."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crm_platform.errors import InvalidArgument
from crm_platform.text import fold

HEADERS = {
    "sku": {"sku", "артикул", "код", "code", "article", "арт."},
    "name": {"name", "найменування", "наименование", "назва", "название", "товар", "product"},
    "price": {"price", "ціна", "цена", "ціна, грн", "цена, руб", "вартість", "стоимость"},
}
MAX_ROWS = 100_000
MAX_PRICE = Decimal(10) ** 13


@dataclass(frozen=True)
class FileRow:
    row: int  # 1-based, the header being row 1
    sku: str
    name: str
    price: Decimal | None
    problem: str = ""


def parse_price(text: object) -> Decimal | None:
    if text is None:
        return None
    if isinstance(text, (int, Decimal)):
        return Decimal(text)
    if isinstance(text, float):
        return Decimal(repr(text))  # a spreadsheet cell is a float: its shortest repr is what the user typed
    clean = str(text).replace("\u00a0", "").replace(" ", "").replace(",", ".")
    for suffix in ("грн", "руб", "₴", "₽", "$", "€", "uah", "rub", "usd", "eur"):
        clean = clean.lower().removesuffix(suffix)
    try:
        value = Decimal(clean)
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 <= value < MAX_PRICE else None


def _columns(header: list[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = fold(str(cell or ""))
        for key, names in HEADERS.items():
            if key not in found and name in names:
                found[key] = index
    if "price" not in found or ("sku" not in found and "name" not in found):
        raise InvalidArgument.single(
            "content", "the header row needs a price column and a SKU or name column (артикул/назва/ціна)"
        )
    return found


def _rows(table: list[list[object]]) -> list[FileRow]:
    if not table:
        raise InvalidArgument.single("content", "the file is empty")
    if len(table) > MAX_ROWS:
        raise InvalidArgument.single("content", f"more than {MAX_ROWS} rows")
    columns = _columns(table[0])
    out: list[FileRow] = []
    for number, cells in enumerate(table[1:], start=2):

        def cell(key: str, cells: list[object] = cells) -> object:
            index = columns.get(key)
            return cells[index] if index is not None and index < len(cells) else None

        sku = str(cell("sku") or "").strip()
        name = " ".join(str(cell("name") or "").split())
        if not sku and not name and cell("price") in (None, ""):
            continue  # blank line
        price = parse_price(cell("price"))
        out.append(FileRow(number, sku, name, price, "" if price is not None else "no valid price"))
    return out


def read_csv(content: bytes) -> list[FileRow]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1251")
        except UnicodeDecodeError:
            raise InvalidArgument.single("content", "neither UTF-8 nor Windows-1251 text") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _rows([list(r) for r in csv.reader(io.StringIO(text), dialect)])
    except csv.Error as exc:
        raise InvalidArgument.single("content", f"not a CSV file: {exc}") from None


def read_xlsx(content: bytes) -> list[FileRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise InvalidArgument.single("content", "not an XLSX workbook") from None
    sheet = workbook.worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    workbook.close()
    return _rows(table)
