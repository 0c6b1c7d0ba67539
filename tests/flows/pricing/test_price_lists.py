"""Supplier and competitor price lists: CSV and XLSX imports, matching, comparison."""

from __future__ import annotations

import io
from decimal import Decimal

import grpc
import pytest
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc
from openpyxl import Workbook

from tests.flows.pricing.conftest import MANAGER, base_type, prices_of, product, set_price, uniq

pytestmark = pytest.mark.flow


async def test_competitor_csv_is_matched_by_sku_and_name_and_compared(stub: pb_grpc.PricingServiceStub) -> None:
    ours = await base_type(stub, "Роздріб для порівняння")
    drill = await product(stub, "Дриль ударна «Інтерскол» ДУ-13/780ЕР")
    saw = await product(stub, "Пила ланцюгова «Штурм» CC9920")
    await set_price(stub, ours, drill, "2350", "2026-01-01")
    await set_price(stub, ours, saw, "4100", "2026-01-01")
    content = (
        "Артикул;Найменування;Ціна\n"
        f"{drill.sku.lower()};Дриль (інша назва у конкурента);2 199,00\n"
        f";ПИЛА ЛАНЦЮГОВА «ШТУРМ» CC9920;4 350\n"
        "XX-404;Болгарка невідома;1500\n"
        "XX-405;Рубанок;ціну уточнюйте\n"
    ).encode("utf-8-sig")

    imported = await stub.ImportPriceList(
        pb.ImportPriceListRequest(
            request_id=uniq("pl"),
            name="Прайс конкурента «Епіцентр», березень",
            kind=pb.PRICE_LIST_KIND_COMPETITOR,
            currency="UAH",
            on="2026-03-01",
            format=pb.FILE_FORMAT_CSV,
            content=content,
        ),
        metadata=MANAGER,
    )
    assert imported.rows == 4
    assert imported.matched == 2
    assert [(u.row, u.sku) for u in imported.unmatched] == [(4, "XX-404"), (5, "XX-405")]
    assert imported.unmatched[1].reason == "no valid price"

    report = await stub.ComparePriceList(
        pb.ComparePriceListRequest(price_list_id=imported.price_list_id, price_type_id=ours.id, on="2026-03-01"),
        metadata=MANAGER,
    )
    rows = {r.product_id: r for r in report.rows}
    assert Decimal(rows[drill.id].their_price.amount) == Decimal("2199.00")
    assert Decimal(rows[drill.id].difference.amount) == Decimal("151.00")
    assert rows[drill.id].difference_percent == "6.87"
    assert Decimal(rows[saw.id].difference.amount) == Decimal("-250.00")
    # their prices are kept apart: ours did not change
    assert (await prices_of(stub, ours, "2026-03-01"))[saw.id] == Decimal("4100.00")


async def test_supplier_xlsx_in_dollars_is_compared_in_our_currency(stub: pb_grpc.PricingServiceStub) -> None:
    ours = await base_type(stub, "Закупівля для порівняння")
    pump = await product(stub, "Насос відцентровий «Водолій» БЦПЕ 0,5-32У")
    await set_price(stub, ours, pump, "6200", "2026-01-01")
    await stub.SetExchangeRate(
        pb.SetExchangeRateRequest(from_currency="USD", to_currency="UAH", rate="41.50", on="2026-04-01"),
        metadata=MANAGER,
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["Код", "Товар", "Цена"])
    sheet.append([pump.sku, "Насос", 149.9])
    sheet.append(["NOPE-1", "Неизвестный товар", 10])
    buffer = io.BytesIO()
    book.save(buffer)

    imported = await stub.ImportPriceList(
        pb.ImportPriceListRequest(
            request_id=uniq("pl"),
            name="Прайс постачальника ТОВ «Гідромаш»",
            kind=pb.PRICE_LIST_KIND_SUPPLIER,
            currency="USD",
            on="2026-04-02",
            format=pb.FILE_FORMAT_XLSX,
            content=buffer.getvalue(),
        ),
        metadata=MANAGER,
    )
    assert (imported.rows, imported.matched) == (2, 1)
    assert imported.unmatched[0].row == 3
    report = await stub.ComparePriceList(
        pb.ComparePriceListRequest(price_list_id=imported.price_list_id, price_type_id=ours.id, on="2026-04-02"),
        metadata=MANAGER,
    )
    (row,) = report.rows
    assert row.their_price.amount == "6220.85"  # 149.9 * 41.50 exactly, no float drift
    assert row.their_price.currency == "UAH"
    assert Decimal(row.difference.amount) == Decimal("-20.85")


@pytest.mark.parametrize(
    ("fmt", "content", "field"),
    [
        (pb.FILE_FORMAT_CSV, b"", "content"),
        (pb.FILE_FORMAT_CSV, "Колір;Розмір\nчервоний;XL\n".encode(), "content"),
        (pb.FILE_FORMAT_XLSX, b"not a workbook", "content"),
        (pb.FILE_FORMAT_UNSPECIFIED, b"sku,price\nA,1\n", "format"),
    ],
)
async def test_bad_price_list_files_are_refused(
    stub: pb_grpc.PricingServiceStub, fmt: int, content: bytes, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ImportPriceList(
            pb.ImportPriceListRequest(
                name="Прайс", kind=pb.PRICE_LIST_KIND_SUPPLIER, currency="UAH", format=fmt, content=content
            ),
            metadata=MANAGER,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(field)
