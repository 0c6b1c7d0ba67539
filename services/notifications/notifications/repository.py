"""notifications' queries: the only module that writes SQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, bindparam, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from notifications.domain import Channel, MessageStatus
from notifications.models import (
    CampaignRow,
    InvoiceCopy,
    MessageRow,
    OptOut,
    PartnerCopy,
    PaymentCopy,
    TemplateRow,
    UserRow,
)


def _table(model: Any) -> Any:
    return model.__table__


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str, language: str) -> TemplateRow | None:
        return await self.session.get(TemplateRow, (code, language))

    async def for_code(self, code: str) -> list[TemplateRow]:
        return list((await self.session.execute(select(TemplateRow).where(TemplateRow.code == code))).scalars())

    async def save(self, row: TemplateRow) -> None:
        table = _table(TemplateRow)
        values = {c: getattr(row, c) for c in ("code", "language", "channel", "placeholders", "subject", "body")}
        statement = insert(table).values(**values, updated_at=utcnow())
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.code, table.c.language],
                set_={
                    **{k: statement.excluded[k] for k in values if k not in ("code", "language")},
                    "updated_at": utcnow(),
                },
            )
        )


@dataclass(frozen=True)
class SelectionFilter:
    segments: Sequence[str] = ()
    regions: Sequence[str] = ()
    manager_ids: Sequence[str] = ()
    tags: Sequence[str] = ()
    abc_classes: Sequence[str] = ()


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, partner_id: uuid.UUID) -> PartnerCopy | None:
        return await self.session.get(PartnerCopy, partner_id)

    async def upsert(self, partner_id: uuid.UUID, values: dict[str, Any], version: int) -> None:
        """Keeps the newest version: an older event arriving late changes nothing."""
        table = _table(PartnerCopy)
        statement = insert(table).values(id=partner_id, version=version, updated_at=utcnow(), **values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={**{k: statement.excluded[k] for k in [*values, "version"]}, "updated_at": utcnow()},
                where=table.c.version < statement.excluded.version,
            )
        )

    async def classify(self, partner_id: uuid.UUID, abc: str, xyz: str) -> None:
        await self.session.execute(
            update(PartnerCopy).where(PartnerCopy.id == partner_id).values(abc=abc, xyz=xyz, updated_at=utcnow())
        )

    async def merge(self, survivor: uuid.UUID, merged: Sequence[uuid.UUID]) -> None:
        await self.session.execute(
            update(PartnerCopy).where(PartnerCopy.id.in_(merged)).values(merged_into=survivor, updated_at=utcnow())  # type: ignore[attr-defined]
        )
        for model in (InvoiceCopy, PaymentCopy):
            await self.session.execute(
                update(model).where(model.partner_id.in_(merged)).values(partner_id=survivor)  # type: ignore[attr-defined]
            )

    async def set_language(self, partner_id: uuid.UUID, language: str) -> bool:
        result = await self.session.execute(
            update(PartnerCopy).where(PartnerCopy.id == partner_id).values(language=language, updated_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def select(self, selection: SelectionFilter) -> list[PartnerCopy]:
        query = select(PartnerCopy).where(PartnerCopy.merged_into.is_(None))  # type: ignore[union-attr]
        if selection.segments:
            query = query.where(PartnerCopy.segment.in_(selection.segments))  # type: ignore[attr-defined]
        if selection.regions:
            query = query.where(PartnerCopy.region.in_(selection.regions))  # type: ignore[attr-defined]
        if selection.manager_ids:
            query = query.where(PartnerCopy.manager_id.in_(selection.manager_ids))  # type: ignore[attr-defined]
        if selection.abc_classes:
            query = query.where(PartnerCopy.abc.in_(selection.abc_classes))  # type: ignore[attr-defined]
        if selection.tags:
            query = query.where(_table(PartnerCopy).c.tags.overlap(list(selection.tags)))
        return list((await self.session.execute(query.order_by(PartnerCopy.name, PartnerCopy.id))).scalars())


class OptOutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, recipient: str, channel: Channel, partner_id: uuid.UUID | None, reason: str = "unsubscribed"
    ) -> bool:
        """True when this is news (the recipient was not opted out already)."""
        result = await self.session.execute(
            insert(_table(OptOut))
            .values(
                recipient=recipient, channel=channel.value, partner_id=partner_id, reason=reason, opted_out_at=utcnow()
            )
            .on_conflict_do_nothing()
            .returning(_table(OptOut).c.recipient)
        )
        return result.first() is not None

    async def opted_out(self, recipients: Iterable[str], channel: str) -> set[str]:
        wanted = list(set(recipients))
        if not wanted:
            return set()
        query = select(OptOut.recipient).where(OptOut.channel == channel, OptOut.recipient.in_(wanted))  # type: ignore[attr-defined]
        return set((await self.session.execute(query)).scalars())


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: str) -> UserRow | None:
        return await self.session.get(UserRow, user_id)

    async def save(self, user: UserRow) -> None:
        table = _table(UserRow)
        values = {c: getattr(user, c) for c in ("user_id", "full_name", "email", "phone", "language", "channel")}
        statement = insert(table).values(**values, updated_at=utcnow())
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.user_id],
                set_={**{k: statement.excluded[k] for k in values if k != "user_id"}, "updated_at": utcnow()},
            )
        )


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, campaign_id: uuid.UUID, *, for_update: bool = False) -> CampaignRow | None:
        return await self.session.get(CampaignRow, campaign_id, with_for_update=for_update)

    async def by_request_id(self, request_id: str) -> CampaignRow | None:
        query = select(CampaignRow).where(CampaignRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def add(self, campaign: CampaignRow) -> CampaignRow:
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def progress(self, campaign_id: uuid.UUID) -> dict[str, int]:
        query = (
            select(MessageRow.status, func.count())
            .where(MessageRow.campaign_id == campaign_id)
            .group_by(MessageRow.status)
        )
        return {status: int(n) for status, n in (await self.session.execute(query)).all()}

    async def complete_finished(self, campaign_ids: Iterable[uuid.UUID]) -> None:
        ids = list(set(campaign_ids))
        if not ids:
            return
        await self.session.execute(
            text(
                "UPDATE campaign c SET status = 'completed' WHERE c.id = ANY(:ids) AND c.status = 'running' "
                "AND NOT EXISTS (SELECT 1 FROM message m WHERE m.campaign_id = c.id "
                "AND m.status IN ('queued', 'sending'))"
            ),
            {"ids": ids},
        )


MESSAGE_COLUMNS = [c.name for c in _table(MessageRow).columns]


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, message_id: uuid.UUID) -> MessageRow | None:
        return await self.session.get(MessageRow, message_id)

    async def by_request_id(self, request_id: str) -> MessageRow | None:
        query = select(MessageRow).where(MessageRow.request_id == request_id)
        return (await self.session.execute(query)).scalars().first()

    async def by_provider_id(self, provider_id: str) -> MessageRow | None:
        query = select(MessageRow).where(MessageRow.provider_message_id == provider_id).with_for_update()
        return (await self.session.execute(query)).scalars().first()

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Inserts the rows whose (origin, recipient, channel) is new; returns those inserted."""
        if not rows:
            return []
        table = _table(MessageRow)
        # One statement compiled once, sent in batches (SQLAlchemy's insertmanyvalues).
        result = await self.session.execute(
            insert(table)
            .on_conflict_do_nothing(constraint="uq_message_origin_recipient_channel")
            .returning(table.c.id, table.c.recipient, table.c.channel, table.c.campaign_id, table.c.source_event_id),
            list(rows),
        )
        return [dict(r._mapping) for r in result]

    async def recover_expired_leases(self) -> tuple[int, list[MessageRow]]:
        """Attempts whose sender vanished (a crash mid-send). One stopped before the SMTP
        terminator (not handed over) goes back to the queue: the server discarded it. One
        handed over is counted as sent with its reply unknown, and never sent again.
        Returns how many were queued again and the rows now sent."""
        requeued = await self.session.execute(
            text(
                "UPDATE message SET status = 'queued', next_attempt_at = now(), lease_until = NULL, "
                "last_error = 'sender vanished before handing it over; sent again', updated_at = now() "
                "WHERE status = 'sending' AND lease_until < now() AND handed_over_at IS NULL"
            )
        )
        sent = await self.session.execute(
            text(
                "UPDATE message SET status = 'sent', sent_at = handed_over_at, lease_until = NULL, "
                "last_error = 'handed over to the SMTP server; its reply was never read (sender stopped)', "
                "updated_at = now() WHERE status = 'sending' AND lease_until < now() AND handed_over_at IS NOT NULL "
                f"RETURNING {', '.join(MESSAGE_COLUMNS)}"
            )
        )
        return int(requeued.rowcount), [MessageRow(**dict(r._mapping)) for r in sent]  # type: ignore[attr-defined]

    async def hand_over(self, attempts: Sequence[tuple[uuid.UUID, int]]) -> set[uuid.UUID]:
        """Records the messages as handed over, for those still held by the given attempt
        (a lease lost to recovery or another sender is not ours to hand over)."""
        if not attempts:
            return set()
        result = await self.session.execute(
            text(
                "UPDATE message m SET handed_over_at = clock_timestamp() "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[])) AS t(id, attempts) "
                "WHERE m.id = t.id AND m.attempts = t.attempts AND m.status = 'sending' "
                "AND m.handed_over_at IS NULL RETURNING m.id"
            ),
            {"ids": [i for i, _ in attempts], "attempts": [a for _, a in attempts]},
        )
        return set(result.scalars())

    async def claim(self, channel: Channel, limit: int, lease: timedelta) -> list[MessageRow]:
        """Marks up to `limit` due messages as being sent and records the attempt, before
        anything leaves the service; concurrent senders skip each other's rows."""
        result = await self.session.execute(
            text(
                "UPDATE message m SET status = 'sending', attempts = m.attempts + 1, "
                "lease_until = now() + :lease, handed_over_at = NULL, updated_at = now() "
                "WHERE m.id IN (SELECT q.id FROM message q WHERE q.status = 'queued' AND q.channel = :channel "
                "AND q.next_attempt_at <= now() AND (q.campaign_id IS NULL OR EXISTS "
                "(SELECT 1 FROM campaign c WHERE c.id = q.campaign_id AND c.status = 'running')) "
                "ORDER BY q.next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED) "
                f"RETURNING {', '.join('m.' + c for c in MESSAGE_COLUMNS)}"
            ),
            {"channel": channel.value, "limit": limit, "lease": lease},
        )
        return [MessageRow(**dict(r._mapping)) for r in result]

    async def finish(self, message_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(MessageRow).where(MessageRow.id == message_id).values(**values, updated_at=utcnow())
        )

    async def mark_sent(self, sent: Sequence[tuple[uuid.UUID, str, str]], at: datetime) -> None:
        """(id, provider id, note): the note says when the server's reply was never read."""
        table = _table(MessageRow)
        statement = (
            update(table)
            .where(table.c.id == bindparam("message_id"))
            .values(
                status=MessageStatus.SENT.value,
                sent_at=at,
                updated_at=at,
                lease_until=None,
                last_error=bindparam("note"),
                provider_message_id=bindparam("provider_id"),
            )
        )
        connection = await self.session.connection()
        await connection.execute(statement, [{"message_id": i, "provider_id": p, "note": n[:2000]} for i, p, n in sent])

    async def cancel_queued(self, campaign_id: uuid.UUID) -> int:
        result = await self.session.execute(
            update(MessageRow)
            .where(MessageRow.campaign_id == campaign_id, MessageRow.status == MessageStatus.QUEUED.value)
            .values(status=MessageStatus.CANCELLED.value, updated_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def list_for_campaign(
        self, campaign_id: uuid.UUID, status: str | None, after: uuid.UUID | None, limit: int
    ) -> list[MessageRow]:
        query = select(MessageRow).where(MessageRow.campaign_id == campaign_id)
        if status:
            query = query.where(MessageRow.status == status)
        if after is not None:
            query = query.where(MessageRow.id > after)
        query = query.order_by(MessageRow.id).limit(limit)
        return list((await self.session.execute(query)).scalars())


@dataclass(frozen=True)
class DebtorRow:
    partner_id: uuid.UUID
    partner_name: str
    manager_id: str
    region: str
    currency: str
    overdue: Decimal
    overdue_days: int
    invoices: int
    email: str
    phone: str
    language: str


class LedgerOfDebts:
    """Invoices and payments from deals' events, and who owes what."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_invoice(self, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            insert(_table(InvoiceCopy)).values(**values).on_conflict_do_nothing().returning(_table(InvoiceCopy).c.id)
        )
        if result.first() is None:
            return False
        # A payment that arrived before its invoice (or an advance) pays it now.
        await self._allocate_unallocated(values["partner_id"], values["currency"])
        return True

    async def add_payment(self, values: dict[str, Any]) -> None:
        table = _table(PaymentCopy)
        result = await self.session.execute(
            insert(table).values(**values, unallocated=values["amount"]).on_conflict_do_nothing().returning(table.c.id)
        )
        if result.first() is None:
            return
        left: Decimal = values["amount"]
        if values.get("invoice_id") is not None:
            invoice = await self.session.get(InvoiceCopy, values["invoice_id"], with_for_update=True)
            if invoice is not None and invoice.currency == values["currency"]:
                take = min(left, invoice.amount - invoice.paid)
                if take > 0:
                    invoice.paid += take
                    left -= take
                await self.session.execute(
                    update(PaymentCopy).where(PaymentCopy.id == values["id"]).values(unallocated=left)
                )
        await self._allocate_unallocated(values["partner_id"], values["currency"])

    async def _allocate_unallocated(self, partner_id: uuid.UUID, currency: str) -> None:
        payments = (
            await self.session.execute(
                select(PaymentCopy)
                .where(
                    PaymentCopy.partner_id == partner_id, PaymentCopy.currency == currency, PaymentCopy.unallocated > 0
                )
                .order_by(PaymentCopy.received_at)
                .with_for_update()
            )
        ).scalars()
        invoices = list(
            (
                await self.session.execute(
                    select(InvoiceCopy)
                    .where(
                        InvoiceCopy.partner_id == partner_id,
                        InvoiceCopy.currency == currency,
                        InvoiceCopy.paid < InvoiceCopy.amount,
                    )
                    .order_by(InvoiceCopy.due_on, InvoiceCopy.id)
                    .with_for_update()
                )
            ).scalars()
        )
        for payment in payments:
            for invoice in invoices:
                take = min(payment.unallocated, invoice.amount - invoice.paid)
                if take > 0:
                    invoice.paid += take
                    payment.unallocated -= take
        await self.session.flush()

    async def debtors(
        self,
        *,
        as_of: date,
        min_overdue_days: int,
        manager_ids: Sequence[str],
        regions: Sequence[str],
        min_amount: Decimal | None,
        currency: str | None,
    ) -> list[DebtorRow]:
        inv = InvoiceCopy
        overdue_days = func.max(literal(as_of, Date()) - inv.due_on)
        conditions = [inv.paid < inv.amount, inv.due_on <= as_of - timedelta(days=max(1, min_overdue_days))]
        if manager_ids:
            conditions.append(or_(inv.manager_id.in_(manager_ids), PartnerCopy.manager_id.in_(manager_ids)))  # type: ignore[attr-defined]
        if regions:
            conditions.append(or_(inv.region.in_(regions), PartnerCopy.region.in_(regions)))  # type: ignore[attr-defined]
        if currency:
            conditions.append(inv.currency == currency)
        query = (
            select(
                inv.partner_id,
                func.coalesce(func.max(PartnerCopy.name), "").label("partner_name"),
                func.coalesce(func.max(PartnerCopy.manager_id), func.max(inv.manager_id)).label("manager_id"),
                func.coalesce(func.nullif(func.max(PartnerCopy.region), ""), func.max(inv.region)).label("region"),
                inv.currency,
                func.sum(inv.amount - inv.paid).label("overdue"),
                overdue_days.label("overdue_days"),
                func.count().label("invoices"),
                func.coalesce(func.max(PartnerCopy.email), "").label("email"),
                func.coalesce(func.max(PartnerCopy.phone), "").label("phone"),
                func.coalesce(func.max(PartnerCopy.language), "uk").label("language"),
            )
            .select_from(inv)
            .outerjoin(PartnerCopy, PartnerCopy.id == inv.partner_id)
            .where(and_(*conditions))
            .group_by(inv.partner_id, inv.currency)
        )
        if min_amount is not None:
            query = query.having(func.sum(inv.amount - inv.paid) >= min_amount)
        query = query.order_by(text("overdue DESC"), inv.partner_id)
        rows = (await self.session.execute(query)).all()
        return [
            DebtorRow(
                partner_id=r.partner_id,
                partner_name=r.partner_name,
                manager_id=r.manager_id or "",
                region=r.region or "",
                currency=r.currency,
                overdue=Decimal(r.overdue),
                overdue_days=int(r.overdue_days),
                invoices=int(r.invoices),
                email=r.email,
                phone=r.phone,
                language=r.language,
            )
            for r in rows
        ]


HAND_OVER_AND_RECORD = """
WITH handed AS (
    UPDATE message m SET handed_over_at = clock_timestamp()
    FROM unnest($1::uuid[], $2::int4[]) AS t(id, attempts)
    WHERE m.id = t.id AND m.attempts = t.attempts AND m.status = 'sending' AND m.handed_over_at IS NULL
    RETURNING m.id
), sent AS (
    UPDATE message m SET status = 'sent', sent_at = $6, updated_at = $6, lease_until = NULL,
        last_error = t.note, provider_message_id = t.provider_id
    FROM unnest($3::uuid[], $4::text[], $5::text[]) AS t(id, provider_id, note)
    WHERE m.id = t.id
    RETURNING m.id
), events AS (
    INSERT INTO outbox (event_id, topic, key, event_type, headers, payload, created_at, attempts)
    SELECT e.event_id, e.topic, e.key, e.event_type, e.headers::jsonb, e.payload, e.created_at, 0
    FROM unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[], $13::timestamptz[])
        AS e(event_id, topic, key, event_type, headers, payload, created_at)
)
SELECT id FROM handed
"""


async def hand_over_and_record_sent(
    connection: Any,
    attempts: Sequence[tuple[uuid.UUID, int]],
    sent: Sequence[tuple[uuid.UUID, str, str]],
    at: datetime,
    outbox_rows: Sequence[dict[str, Any]],
) -> set[uuid.UUID]:
    """The sender's group commit as ONE statement on a raw asyncpg connection (its own
    implicit transaction, one round trip): marks the messages handed over (those still
    held by the given attempt, as `MessageRepository.hand_over`), records the sent ones
    (id, provider id, note) with their outbox events. Returns the ids handed over."""
    rows = await connection.fetch(
        HAND_OVER_AND_RECORD,
        [i for i, _ in attempts],
        [a for _, a in attempts],
        [i for i, _, _ in sent],
        [p for _, p, _ in sent],
        [n[:2000] for _, _, n in sent],
        at,
        [r["event_id"] for r in outbox_rows],
        [r["topic"] for r in outbox_rows],
        [r["key"] for r in outbox_rows],
        [r["event_type"] for r in outbox_rows],
        [json.dumps(r["headers"]) for r in outbox_rows],
        [r["payload"] for r in outbox_rows],
        [r["created_at"] for r in outbox_rows],
    )
    return {r["id"] for r in rows}
