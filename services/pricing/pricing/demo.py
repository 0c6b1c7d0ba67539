"""Loads a little demo data into pricing through its gRPC API (idempotent: fixed request ids).

python -m pricing.demo [address]
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from crm.common.v1 import common_pb2
from crm.pricing.v1 import pricing_pb2 as pb
from crm.pricing.v1 import pricing_pb2_grpc as pb_grpc

from crm_platform.localrun import GRPC_PORTS, dev_token

# sku, name, unit, VAT %, cost (UAH), retail price with VAT (UAH)
PRODUCTS = [
    ("NS-YASON-5", "Насіння соняшнику «Ясон», 5 кг", "мішок", "20", "610.00", "899.00"),
    ("NPK-16-50", "Добриво NPK 16:16:16, 50 кг", "мішок", "7", "1020.00", "1349.00"),
    ("OIL-SUN-1", "Олія соняшникова рафінована, 1 л", "пляшка", "20", "42.50", "71.99"),
    ("MB-2060D", "Мотоблок «Кентавр» МБ 2060Д", "шт", "20", "21500.00", "31999.00"),
    ("CEM-M500-25", "Цемент М-500, 25 кг", "мішок", "20", "148.00", "215.00"),
    ("PAINT-SN-10", "Фарба фасадна «Снєжка», 10 л", "відро", "20", "1050.00", "1549.00"),
    ("DRILL-780", "Дриль ударна «Інтерскол» ДУ-13/780ЕР", "шт", "20", "1690.00", "2399.00"),
    ("PUMP-BCPE", "Насос відцентровий «Водолій» БЦПЕ 0,5-32У", "шт", "20", "4700.00", "6299.00"),
]


async def load(address: str) -> None:
    metadata = (("authorization", f"Bearer {dev_token('ops')}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.PricingServiceStub(channel)
        retail = await stub.CreatePriceType(
            pb.CreatePriceTypeRequest(
                request_id="demo:price-type:retail",
                name="Роздрібна",
                currency="UAH",
                includes_vat=True,
                is_default=True,
            ),
            metadata=metadata,
        )
        wholesale = await stub.CreatePriceType(
            pb.CreatePriceTypeRequest(
                request_id="demo:price-type:wholesale",
                name="Оптова (роздрібна −12%, до 1 грн)",
                rule=pb.DerivationRule(
                    base_price_type_id=retail.id,
                    markup_percent="-12",
                    rounding_step="1",
                    rounding_mode=pb.ROUNDING_MODE_HALF_UP,
                ),
            ),
            metadata=metadata,
        )
        export = await stub.CreatePriceType(
            pb.CreatePriceTypeRequest(
                request_id="demo:price-type:export", name="Експортна, USD", currency="USD", includes_vat=False
            ),
            metadata=metadata,
        )
        for sku, name, unit, vat, cost, _ in PRODUCTS:
            await stub.CreateProduct(
                pb.CreateProductRequest(
                    request_id=f"demo:product:{sku}",
                    sku=sku,
                    name=name,
                    unit=unit,
                    vat_rate=vat,
                    cost=common_pb2.Money(amount=cost, currency="UAH"),
                ),
                metadata=metadata,
            )
        await stub.SetPrices(
            pb.SetPricesRequest(
                price_type_id=retail.id,
                effective_from="2026-01-01",
                prices=[pb.PriceInput(sku=sku, price=price) for sku, *_, price in PRODUCTS],
            ),
            metadata=metadata,
        )
        await stub.SetPrices(
            pb.SetPricesRequest(
                price_type_id=export.id,
                effective_from="2026-01-01",
                prices=[pb.PriceInput(sku="MB-2060D", price="640.00"), pb.PriceInput(sku="PUMP-BCPE", price="129.00")],
            ),
            metadata=metadata,
        )
        for source, rate in (("USD", "41.25"), ("EUR", "45.10"), ("PLN", "10.40")):
            await stub.SetExchangeRate(
                pb.SetExchangeRateRequest(from_currency=source, to_currency="UAH", rate=rate, on="2026-01-01"),
                metadata=metadata,
            )
        typical = await stub.CreateAgreement(
            pb.CreateAgreementRequest(
                request_id="demo:agreement:wholesale",
                name="Типова угода з оптовими покупцями на 2026 рік",
                kind=pb.AGREEMENT_KIND_TYPICAL,
                segment="Оптові покупці",
                valid_from="2026-01-01",
                valid_to="2026-12-31",
                terms=pb.AgreementTerms(
                    price_type_id=wholesale.id,
                    currency="UAH",
                    discount_percent="0",
                    manual_discount_limit_percent="5",
                    prepayment_percent="30",
                    credit_days=14,
                    payment_form=pb.PAYMENT_FORM_BANK_TRANSFER,
                    tax_regime=pb.TAX_REGIME_VAT,
                    delivery_terms="доставка перевізником за рахунок покупця",
                    sale_kind=pb.SALE_KIND_WHOLESALE,
                    contract_required=True,
                    returnable_packaging=False,
                ),
            ),
            metadata=metadata,
        )
        await stub.AgreeAgreement(pb.AgreementTransitionRequest(id=typical.id), metadata=metadata)
    print(f"pricing demo data loaded: {len(PRODUCTS)} products, 3 price types, rates, 1 agreement")


if __name__ == "__main__":
    asyncio.run(load(sys.argv[1] if len(sys.argv) > 1 else f"127.0.0.1:{GRPC_PORTS['pricing']}"))
