"""Loads a little demo data through the public gRPC API (idempotent: fixed request ids).

python deploy/local/demo_data.py [partners address]
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from crm.common.v1 import common_pb2
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


# Registered through the wizard: counterparty with tax id and bank account, contact persons.
WIZARD = [
    pb.PartnerDraft(
        name="ТОВ «Поділля Агротрейд»",
        roles=[CLIENT, DEALER],
        manager_id="olena.kovalenko",
        segment="Дилери",
        region="Вінницька область",
        tags=["агро", "дилер"],
        source="Рекомендація",
        contacts=[
            pb.ContactInfo(kind=PHONE, value="0432 55 17 20", label="офіс"),
            pb.ContactInfo(kind=EMAIL, value="office@podillia-agrotrade.com.ua"),
        ],
        counterparties=[
            pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                country="UA",
                full_name="Товариство з обмеженою відповідальністю «Поділля Агротрейд»",
                short_name="ТОВ «Поділля Агротрейд»",
                tax_id="35478214",
                legal_address=common_pb2.Address(
                    country_code="UA", postal_code="21050", city="Вінниця", street="вул. Соборна", building="59"
                ),
                bank_accounts=[
                    pb.BankAccount(iban="UA743052990000026007233566001", bank_name="АТ КБ «ПриватБанк»", currency="UAH")
                ],
            )
        ],
        persons=[
            pb.PersonDraft(
                name="Мельничук Андрій Васильович",
                position="Директор",
                decision_role=pb.DECISION_ROLE_DECISION_MAKER,
                contacts=[pb.ContactInfo(kind=PHONE, value="067 430 18 55", label="мобільний")],
            ),
            pb.PersonDraft(
                name="Гуменюк Наталія Петрівна",
                position="Головний бухгалтер",
                decision_role=pb.DECISION_ROLE_INFLUENCER,
                contacts=[pb.ContactInfo(kind=EMAIL, value="buh@podillia-agrotrade.com.ua")],
            ),
        ],
    ),
    pb.PartnerDraft(
        name="ПП «Карпатський логістичний центр»",
        roles=[CARRIER],
        manager_id="taras.shevchuk",
        segment="Перевізники",
        region="Львівська область",
        source="Тендер",
        contacts=[pb.ContactInfo(kind=PHONE, value="+380 32 297 41 10", label="диспетчер")],
        counterparties=[
            pb.CounterpartyDraft(
                legal_form=pb.LEGAL_FORM_LEGAL_ENTITY,
                country="UA",
                full_name="Приватне підприємство «Карпатський логістичний центр»",
                tax_id="22904179",
                bank_accounts=[
                    pb.BankAccount(iban="UA663223130000026001234567890", bank_name="АТ «Ощадбанк»", currency="UAH")
                ],
            )
        ],
        persons=[pb.PersonDraft(name="Савчин Роман", position="Логіст", decision_role=pb.DECISION_ROLE_USER)],
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
        for n, draft in enumerate(WIZARD, 1):
            await stub.RegisterPartner(
                pb.RegisterPartnerRequest(request_id=f"demo-wizard-{n}", partner=draft, confirm_duplicates=True),
                metadata=metadata,
                timeout=10,
            )
    return len(PARTNERS) + len(WIZARD)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else f"127.0.0.1:{GRPC_PORTS['partners']}"
    print(f"demo data: {asyncio.run(load(target))} partners registered (or already there)")
