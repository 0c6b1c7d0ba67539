"""The partner behind an online shop's customer, found or registered exactly once.

Two orders of one new customer may arrive at once. Each call takes transaction-scoped
advisory locks on the (shop, customer) key and on the customer's phone and e-mail, so
the second call waits and then finds what the first one bound; the primary key of
shop_customer is the backstop, and a conflict there is retried.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database
from partners.domain import ContactKind, ShopCustomerData, shop_customer_partner
from partners.registration import announce_registered
from partners.repository import ContactLookup, PartnerRepository, ShopCustomerRepository, lock_keys

ATTEMPTS = 3


@dataclass(frozen=True)
class ShopCustomerResult:
    partner_id: uuid.UUID
    created: bool
    matched_by: str


async def find_or_create(db: Database, data: ShopCustomerData) -> ShopCustomerResult:
    for attempt in range(ATTEMPTS):
        try:
            return await _find_or_create(db, data)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _lock_keys(data: ShopCustomerData) -> list[str]:
    keys = [f"partners:shop-customer:{data.shop_id}:{data.shop_customer_id}"]
    if data.phone:
        keys.append(f"partners:contact:phone:{data.phone}")
    if data.email:
        keys.append(f"partners:contact:email:{data.email.casefold()}")
    return keys


async def _find_or_create(db: Database, data: ShopCustomerData) -> ShopCustomerResult:
    async with db.transaction() as session:
        await lock_keys(session, _lock_keys(data))
        shops = ShopCustomerRepository(session)
        known = await shops.partner_of(data.shop_id, data.shop_customer_id)
        if known is not None:
            return ShopCustomerResult(known, created=False, matched_by="shop_customer")
        lookup = ContactLookup(session)
        for kind, value in ((ContactKind.PHONE, data.phone), (ContactKind.EMAIL, data.email)):
            if not value:
                continue
            found = await lookup.partners(kind, value, limit=1)
            if found:
                await shops.bind(data.shop_id, data.shop_customer_id, found[0].id)
                return ShopCustomerResult(found[0].id, created=False, matched_by=kind.value)
        stored = await PartnerRepository(session).add(shop_customer_partner(data), request_id=None)
        await shops.bind(data.shop_id, data.shop_customer_id, stored.row.id)
        announce_registered(session, stored)
        return ShopCustomerResult(stored.row.id, created=True, matched_by="")
