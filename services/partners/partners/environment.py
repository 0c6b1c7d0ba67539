"""Contact persons, relations between partners and between persons, and the graph
around a partner (its environment) that a deal's analysis reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from crm_platform.outbox import add_event
from partners.domain import DecisionRole, PersonData
from partners.events import PersonMerged
from partners.registration import SOURCE
from partners.repository import (
    Edge,
    PartnerRepository,
    PersonMergeRepository,
    PersonRepository,
    RelationRepository,
    StoredPerson,
    lock_keys,
)

MAX_DEPTH = 3
MAX_NODES = 500
MAX_MERGED = 20


@dataclass(frozen=True)
class Link:
    partner_id: uuid.UUID
    position: str
    decision_role: DecisionRole


async def _require_partners(repo: PartnerRepository, ids: list[uuid.UUID], field: str) -> None:
    for partner_id in ids:
        if await repo.get(partner_id) is None:
            raise NotFound(f"{field}: partner {partner_id} not found")


async def add_person(db: Database, data: PersonData, links: list[Link]) -> StoredPerson:
    async with db.transaction() as session:
        await _require_partners(PartnerRepository(session), [link.partner_id for link in links], "links")
        persons = PersonRepository(session)
        row = await persons.add(data)
        for link in links:
            await persons.link(row.id, link.partner_id, link.position, link.decision_role.value)
        stored = await persons.get(row.id)
    assert stored is not None
    return stored


async def link_person(db: Database, person_id: uuid.UUID, link: Link) -> StoredPerson:
    async with db.transaction() as session:
        persons = PersonRepository(session)
        if await persons.get(person_id) is None:
            raise NotFound(f"person {person_id} not found")
        await _require_partners(PartnerRepository(session), [link.partner_id], "link.partner_id")
        await persons.link(person_id, link.partner_id, link.position, link.decision_role.value)
        stored = await persons.get(person_id)
    assert stored is not None
    return stored


async def get_person(db: Database, person_id: uuid.UUID) -> StoredPerson:
    """A merged person's id answers with the survivor."""
    async with db.reading() as session:
        persons = PersonRepository(session)
        stored = await persons.get(person_id)
        if stored is None:
            survivor = await persons.survivor_of(person_id)
            stored = await persons.get(survivor) if survivor else None
    if stored is None:
        raise NotFound(f"person {person_id} not found")
    return stored


async def unlink_person(db: Database, person_id: uuid.UUID, partner_id: uuid.UUID) -> StoredPerson:
    async with db.transaction() as session:
        persons = PersonRepository(session)
        if await persons.get(person_id) is None:
            raise NotFound(f"person {person_id} not found")
        await persons.unlink(person_id, partner_id)
        stored = await persons.get(person_id)
    assert stored is not None
    return stored


async def merge_persons(db: Database, survivor_id: uuid.UUID, merged_ids: list[uuid.UUID]) -> StoredPerson:
    """Repeating a merge that already happened returns the survivor and changes nothing."""
    if not merged_ids:
        raise InvalidArgument.single("merged_ids", "name at least one person to merge")
    if len(merged_ids) > MAX_MERGED:
        raise InvalidArgument.single("merged_ids", f"at most {MAX_MERGED} at once")
    if survivor_id in merged_ids:
        raise InvalidArgument.single("merged_ids", "must not contain the survivor")
    merged = list(dict.fromkeys(merged_ids))
    async with db.transaction() as session:
        await lock_keys(session, [f"partners:person:{i}" for i in [survivor_id, *merged]])
        persons = PersonRepository(session)
        if await persons.get(survivor_id) is None:
            raise NotFound(f"person {survivor_id} not found")
        missing = [m for m in merged if await persons.get(m) is None]
        already = [m for m in missing if await persons.survivor_of(m) == survivor_id]
        if missing and len(already) == len(merged):
            stored = await persons.get(survivor_id)
            assert stored is not None
            return stored  # the same merge repeated
        if len(already) != len(missing):
            gone = [str(m) for m in missing if m not in already]
            raise FailedPrecondition(f"persons {', '.join(gone)} do not exist (merged or never were)", rule="exists")
        await PersonMergeRepository(session).merge(survivor_id, [m for m in merged if m not in missing])
        stored = await persons.get(survivor_id)
        assert stored is not None
        add_event(
            session,
            PersonMerged(
                person_id=survivor_id,
                merged_ids=merged,
                partner_ids=[link.partner_id for link in stored.links],
                merged_at=utcnow(),
            ),
            source=SOURCE,
        )
    return stored


async def delete_partner_relation(db: Database, from_id: uuid.UUID, to_id: uuid.UUID, kind: str) -> bool:
    async with db.transaction() as session:
        return await RelationRepository(session).delete_partner_relation(from_id, to_id, kind)


async def delete_person_relation(db: Database, from_id: uuid.UUID, to_id: uuid.UUID, kind: str) -> bool:
    async with db.transaction() as session:
        return await RelationRepository(session).delete_person_relation(from_id, to_id, kind)


async def relate_partners(db: Database, from_id: uuid.UUID, to_id: uuid.UUID, kind: str, note: str) -> bool:
    if from_id == to_id:
        raise FailedPrecondition("a partner cannot be related to itself", rule="self_relation")
    async with db.transaction() as session:
        await _require_partners(PartnerRepository(session), [from_id, to_id], "partner")
        return await RelationRepository(session).relate_partners(from_id, to_id, kind, note)


async def relate_persons(db: Database, from_id: uuid.UUID, to_id: uuid.UUID, kind: str, note: str) -> bool:
    if from_id == to_id:
        raise FailedPrecondition("a person cannot be related to themself", rule="self_relation")
    async with db.transaction() as session:
        persons = PersonRepository(session)
        for person_id in (from_id, to_id):
            if await persons.get(person_id) is None:
                raise NotFound(f"person {person_id} not found")
        return await RelationRepository(session).relate_persons(from_id, to_id, kind, note)


@dataclass(frozen=True)
class Node:
    kind: str  # "partner" or "person"
    id: uuid.UUID
    name: str
    distance: int


@dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]


async def environment(db: Database, partner_id: uuid.UUID, depth: int) -> Graph:
    """Breadth-first over partner relations, person links and person relations."""
    async with db.reading() as session:
        if await PartnerRepository(session).get(partner_id) is None:
            raise NotFound(f"partner {partner_id} not found")
        relations = RelationRepository(session)
        partners: dict[uuid.UUID, int] = {partner_id: 0}
        persons: dict[uuid.UUID, int] = {}
        edges: dict[tuple[uuid.UUID, uuid.UUID, str], Edge] = {}
        frontier_partners, frontier_persons = {partner_id}, set[uuid.UUID]()
        for step in range(1, depth + 1):
            found: list[Edge] = []
            if frontier_partners:
                found += await relations.partner_edges(frontier_partners)
            found += await relations.person_links(frontier_partners, frontier_persons)
            if frontier_persons:
                found += await relations.person_edges(frontier_persons)
            next_partners, next_persons = set[uuid.UUID](), set[uuid.UUID]()
            for edge in found:
                edges.setdefault((edge.from_id, edge.to_id, edge.kind), edge)
                is_person_edge = edge.kind in ("knows", "reports_to", "influences")
                for node in (edge.from_id, edge.to_id):
                    as_person = is_person_edge or (edge.kind == "works_at" and node == edge.from_id)
                    known = persons if as_person else partners
                    if node not in known and len(partners) + len(persons) < MAX_NODES:
                        known[node] = step
                        (next_persons if as_person else next_partners).add(node)
            frontier_partners, frontier_persons = next_partners, next_persons
            if not frontier_partners and not frontier_persons:
                break
        names = await relations.names(set(partners), set(persons))
    nodes = [Node("partner", i, names.get(i, ""), d) for i, d in partners.items()]
    nodes += [Node("person", i, names.get(i, ""), d) for i, d in persons.items()]
    nodes.sort(key=lambda n: (n.distance, n.kind, n.name))
    known_ids = set(partners) | set(persons)
    kept = [e for e in edges.values() if e.from_id in known_ids and e.to_id in known_ids]
    return Graph(nodes, kept)
