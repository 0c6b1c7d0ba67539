"""claims keeps its own copy of partners from their events: the partner's name and manager
come with a claim, and a merge re-points claims to the surviving partner."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc

from crm_platform.testing import auth
from tests.flows.claims.conftest import register
from tests.flows.claims.events_out import now, publish

pytestmark = pytest.mark.flow

PARTNERS = "crm.partners.partner.v1"


async def partner(producer: AIOKafkaProducer, name: str, manager: str, version: int = 1) -> str:
    partner_id = str(uuid.uuid4())
    await publish(
        producer,
        PARTNERS,
        "crm.partners.partner.registered",
        partner_id,
        {
            "partner_id": partner_id,
            "name": name,
            "manager_id": manager,
            "roles": ["client"],
            "version": version,
            "registered_at": now(),
        },
    )
    return partner_id


async def test_the_partners_manager_and_name_come_with_the_claim(
    stub: pb_grpc.ClaimsServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    partner_id = await partner(kafka_producer, "ТОВ «Зоря Агро»", "olena.kovalenko")
    for _ in range(150):  # until claims has the partner's event
        if (await register(stub, partner_id, manager_id="")).partner_name:
            break
        await asyncio.sleep(0.2)
    claim = await register(stub, partner_id, manager_id="")
    assert claim.partner_name == "ТОВ «Зоря Агро»"
    assert claim.details.manager_id == "olena.kovalenko"

    await publish(
        kafka_producer,
        PARTNERS,
        "crm.partners.partner.updated",
        partner_id,
        {"partner_id": partner_id, "name": "ТОВ «Зоря Агро Плюс»", "manager_id": "taras.shevchuk", "version": 3},
    )
    await publish(
        kafka_producer,
        PARTNERS,
        "crm.partners.partner.updated",
        partner_id,  # late and older
        {"partner_id": partner_id, "name": "ТОВ «Зоря»", "manager_id": "x", "version": 2},
    )
    for _ in range(150):
        seen = await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())
        if seen.partner_name != "ТОВ «Зоря Агро»":
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    seen = await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())
    assert seen.partner_name == "ТОВ «Зоря Агро Плюс»"


async def test_a_merge_moves_claims_to_the_surviving_partner(
    stub: pb_grpc.ClaimsServiceStub, kafka_producer: AIOKafkaProducer
) -> None:
    survivor = await partner(kafka_producer, "ПП «Лан»", "iryna.bondarenko")
    duplicate = str(uuid.uuid4())
    claim = await register(stub, duplicate)
    await publish(
        kafka_producer,
        PARTNERS,
        "crm.partners.partner.merged",
        survivor,
        {"partner_id": survivor, "merged_ids": [duplicate], "version": 2},
    )
    for _ in range(150):
        seen = await stub.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=auth())
        if seen.details.partner_id == survivor:
            break
        await asyncio.sleep(0.2)
    assert seen.details.partner_id == survivor
    assert seen.partner_name == "ПП «Лан»"
    listed = await stub.ListClaims(pb.ListClaimsRequest(partner_id=survivor), metadata=auth())
    assert [c.id for c in listed.claims] == [claim.id]
    assert listed.claims[0].partner_name == "ПП «Лан»"
