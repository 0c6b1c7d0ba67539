"""Loads a little demo data through the public gRPC API (idempotent: fixed request ids).

python deploy/local/demo_data.py [partners address]
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from crm.partners.v1 import partners_pb2 as pb
from crm.partners.v1 import partners_pb2_grpc as pb_grpc

from crm_platform.localrun import GRPC_PORTS, dev_token

PHONE, EMAIL, WEB, ADDRESS = pb.CONTACT_KIND_PHONE, pb.CONTACT_KIND_EMAIL, pb.CONTACT_KIND_WEB, pb.CONTACT_KIND_ADDRESS
CLIENT, SUPPLIER, COMPETITOR, CARRIER, DEALER = (
    pb.PARTNER_ROLE_CLIENT,
    pb.PARTNER_ROLE_SUPPLIER,
    pb.PARTNER_ROLE_COMPETITOR,
    pb.PARTNER_ROLE_CARRIER,
    pb.PARTNER_ROLE_DEALER,
)

# name, roles, manager, segment, region, tags, source, contacts, phone region
PARTNERS = [
    (
        "ТОВ «Агрохолдинг Зоря»",
        [CLIENT],
        "olena.kovalenko",
        "Оптові покупці",
        "Київська область",
        ["агро", "VIP"],
        "Виставка «Агро-2026»",
        [
            (PHONE, "+380 44 235 17 80", "офіс"),
            (EMAIL, "zakupivli@zoria-agro.com.ua", ""),
            (WEB, "https://zoria-agro.com.ua", ""),
        ],
        "UA",
    ),
    (
        "ФОП Бондаренко Ірина Миколаївна",
        [CLIENT],
        "olena.kovalenko",
        "Роздріб",
        "Львівська область",
        ["інтернет-магазин"],
        "Сайт",
        [(PHONE, "067 412 33 90", "мобільний"), (EMAIL, "iryna.bondarenko@ukr.net", "")],
        "UA",
    ),
    (
        "ПрАТ «Дніпровський металургійний завод»",
        [SUPPLIER],
        "taras.shevchuk",
        "Постачальники",
        "Дніпропетровська область",
        ["метал"],
        "Холодний дзвінок",
        [(PHONE, "(056) 794-20-11", "приймальня"), (EMAIL, "sales@dmz.dp.ua", "")],
        "UA",
    ),
    (
        "ТОВ «Нова Логістика»",
        [CARRIER],
        "taras.shevchuk",
        "Перевізники",
        "Одеська область",
        ["доставка"],
        "Рекомендація",
        [(PHONE, "048 700 55 44", "диспетчер")],
        "UA",
    ),
    (
        "ООО «Северный ветер»",
        [CLIENT, DEALER],
        "ivan.melnyk",
        "Дилеры",
        "Московская область",
        ["дилер"],
        "Партнёрская программа",
        [(PHONE, "+7 495 123-45-67", "офис"), (EMAIL, "info@sev-veter.ru", "")],
        "RU",
    ),
    (
        "ТОВ «Епіцентр Будматеріали»",
        [COMPETITOR],
        "ivan.melnyk",
        "Конкуренти",
        "Київ",
        [],
        "Аналіз ринку",
        [(WEB, "https://example-budmat.ua", "")],
        "UA",
    ),
    (
        "ТОВ «Смарт Офіс Груп»",
        [CLIENT],
        "olena.kovalenko",
        "Корпоративні клієнти",
        "Харківська область",
        ["офіс", "постійний"],
        "Google Ads",
        [(PHONE, "057 717 03 03", ""), (ADDRESS, "61002, м. Харків, вул. Сумська, 25, оф. 14", "юридична")],
        "UA",
    ),
    (
        "ИП Кузнецов Алексей Петрович",
        [CLIENT],
        "ivan.melnyk",
        "Розница",
        "Санкт-Петербург",
        [],
        "Сайт",
        [(PHONE, "8 (812) 555-12-34", ""), (EMAIL, "a.kuznetsov@mail.ru", "")],
        "RU",
    ),
]


async def load(address: str) -> int:
    metadata = (("authorization", f"Bearer {dev_token('manager')}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.PartnersServiceStub(channel)
        for n, (name, roles, manager, segment, region, tags, source, contacts, phone_region) in enumerate(PARTNERS, 1):
            await stub.RegisterPartner(
                pb.RegisterPartnerRequest(
                    request_id=f"demo-partner-{n}",
                    default_phone_region=phone_region,
                    partner=pb.PartnerDraft(
                        name=name,
                        roles=roles,
                        manager_id=manager,
                        segment=segment,
                        region=region,
                        tags=tags,
                        source=source,
                        contacts=[pb.ContactInfo(kind=k, value=v, label=label) for k, v, label in contacts],
                    ),
                ),
                metadata=metadata,
                timeout=10,
            )
    return len(PARTNERS)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else f"127.0.0.1:{GRPC_PORTS['partners']}"
    print(f"demo data: {asyncio.run(load(target))} partners registered (or already there)")
