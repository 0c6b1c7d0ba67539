"""The debt notification wizard: debtors from deals' invoices and payments, filtered by
overdue days, amount, manager and region; a preview of each notice; sending them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.clock import utcnow
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument
from crm_platform.money import Money
from notifications import campaigns, templates
from notifications.campaigns import CampaignDraft, Recipient
from notifications.domain import Channel, Language
from notifications.models import CampaignRow
from notifications.repository import CampaignRepository, DebtorRow, LedgerOfDebts
from notifications.templating import Rendered

DEFAULT_TEMPLATES = {Channel.EMAIL: "debt_email", Channel.SMS: "debt_sms"}
MAX_OVERDUE_DAYS = 3650


@dataclass(frozen=True)
class DebtorFilter:
    min_overdue_days: int
    min_amount: Money | None
    manager_ids: list[str]
    regions: list[str]
    as_of: date | None

    def check(self) -> None:
        if not 0 <= self.min_overdue_days <= MAX_OVERDUE_DAYS:
            raise InvalidArgument.single("filter.min_overdue_days", f"must be between 0 and {MAX_OVERDUE_DAYS}")


@dataclass(frozen=True)
class Notice:
    debtor: DebtorRow
    recipient: str
    message: Rendered | None


def _values(debtor: DebtorRow) -> dict[str, Any]:
    return {
        "partner_name": debtor.partner_name,
        "overdue": Money(debtor.overdue, debtor.currency).rounded(),
        "overdue_days": debtor.overdue_days,
        "invoices": debtor.invoices,
    }


async def _notices(session: AsyncSession, flt: DebtorFilter, channel: Channel, template_code: str) -> list[Notice]:
    flt.check()
    debtors = await LedgerOfDebts(session).debtors(
        as_of=flt.as_of or utcnow().date(),
        min_overdue_days=flt.min_overdue_days,
        manager_ids=flt.manager_ids,
        regions=flt.regions,
        min_amount=flt.min_amount.amount if flt.min_amount else None,
        currency=flt.min_amount.currency if flt.min_amount else None,
    )
    resolved: dict[Language, templates.Resolved] = {}
    notices = []
    for debtor in debtors:
        language = Language(debtor.language)
        if language not in resolved:
            resolved[language] = await templates.resolve(session, template_code, language)
        template = resolved[language]
        if template.channel is not channel:
            raise InvalidArgument.single("template_code", f"{template_code!r} is a {template.channel.value} template")
        recipient = debtor.email if channel is Channel.EMAIL else debtor.phone
        notices.append(Notice(debtor, recipient, template.render(_values(debtor))))
    return notices


async def preview(db: Database, flt: DebtorFilter, channel: Channel, template_code: str) -> list[Notice]:
    async with db.reading() as session:
        return await _notices(session, flt, channel, template_code or DEFAULT_TEMPLATES[channel])


async def send(
    db: Database, request_id: str, flt: DebtorFilter, channel: Channel, template_code: str, created_by: str
) -> CampaignRow:
    code = template_code or DEFAULT_TEMPLATES[channel]
    async with db.transaction() as session:
        if request_id and (earlier := await CampaignRepository(session).by_request_id(request_id)) is not None:
            return earlier
        notices = [n for n in await _notices(session, flt, channel, code) if n.recipient]
        if not notices:
            raise InvalidArgument.single("filter", "selects no debtor with an address on this channel")
        draft = CampaignDraft(
            request_id=request_id,
            name=f"Debt notices {utcnow().date().isoformat()}",
            kind="debt",
            channel=channel,
            template_code=code,
            selection={
                "min_overdue_days": flt.min_overdue_days,
                "min_amount": str(flt.min_amount) if flt.min_amount else None,
                "manager_ids": flt.manager_ids,
                "regions": flt.regions,
                "as_of": flt.as_of.isoformat() if flt.as_of else None,
            },
            created_by=created_by,
        )
        recipients = [
            Recipient(n.debtor.partner_id, n.recipient, Language(n.debtor.language), _values(n.debtor)) for n in notices
        ]
        return await campaigns.start(session, draft, recipients, {})
