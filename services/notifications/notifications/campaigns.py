"""Mass mailings: a selection of partners becomes one ledger row per recipient, sent by
the sender loop; a campaign can be paused, resumed and cancelled while it runs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.errors import FailedPrecondition, InvalidArgument, NotFound
from notifications import ledger, templates
from notifications.domain import CampaignStatus, Channel, Language
from notifications.models import CampaignRow, PartnerCopy
from notifications.repository import CampaignRepository, MessageRepository, PartnerRepository, SelectionFilter

MAX_NAME = 300


@dataclass(frozen=True)
class Recipient:
    partner_id: uuid.UUID | None
    address: str
    language: Language
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignDraft:
    request_id: str
    name: str
    kind: str
    channel: Channel
    template_code: str
    selection: dict[str, Any]
    created_by: str


def address_of(partner: PartnerCopy, channel: Channel) -> str:
    return partner.email if channel is Channel.EMAIL else partner.phone


def check_selection(selection: SelectionFilter) -> None:
    if not any((selection.segments, selection.regions, selection.manager_ids, selection.tags, selection.abc_classes)):
        raise InvalidArgument.single(
            "selection", "choose at least one of segments, regions, manager_ids, tags, abc_classes"
        )
    for i, abc in enumerate(selection.abc_classes):
        if abc not in ("A", "B", "C"):
            raise InvalidArgument.single(f"selection.abc_classes[{i}]", "must be A, B or C")


async def recipients_of(session: AsyncSession, selection: SelectionFilter, channel: Channel) -> list[Recipient]:
    partners = await PartnerRepository(session).select(selection)
    found = [
        Recipient(p.id, address_of(p, channel), Language(p.language), {"partner_name": p.name})
        for p in partners
        if address_of(p, channel)
    ]
    if not found:
        raise InvalidArgument.single(
            "selection", f"matches no partner with an {'e-mail address' if channel is Channel.EMAIL else 'phone'}"
        )
    return found


async def start(
    session: AsyncSession, draft: CampaignDraft, recipients: list[Recipient], shared: Mapping[str, Any]
) -> CampaignRow:
    """Creates the campaign and queues every recipient's message, rendered in their language."""
    campaign = await CampaignRepository(session).add(
        CampaignRow(
            name=draft.name,
            kind=draft.kind,
            channel=draft.channel.value,
            template_code=draft.template_code,
            status=CampaignStatus.RUNNING.value,
            selection=draft.selection,
            request_id=draft.request_id or None,
            created_by=draft.created_by,
        )
    )
    resolved: dict[Language, templates.Resolved] = {}
    items = []
    for recipient in recipients:
        if recipient.language not in resolved:
            resolved[recipient.language] = await templates.resolve(session, draft.template_code, recipient.language)
        template = resolved[recipient.language]
        if template.channel is not draft.channel:
            raise InvalidArgument.single(
                "template_code", f"{draft.template_code!r} is a {template.channel.value} template"
            )
        rendered = template.render({**shared, **recipient.values})
        items.append(
            ledger.NewMessage(
                origin=f"campaign:{campaign.id}",
                channel=draft.channel,
                recipient=recipient.address,
                subject=rendered.subject,
                body=rendered.body,
                language=template.language.value,
                campaign_id=campaign.id,
                partner_id=recipient.partner_id,
            )
        )
    await ledger.queue(session, items)
    return campaign


async def create_mailing(
    db: Database, draft: CampaignDraft, selection: SelectionFilter, shared: Mapping[str, Any]
) -> CampaignRow:
    check_selection(selection)
    name = " ".join(draft.name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidArgument.single("name", f"must be 1-{MAX_NAME} characters")
    async with db.transaction() as session:
        repo = CampaignRepository(session)
        if draft.request_id and (earlier := await repo.by_request_id(draft.request_id)) is not None:
            return earlier
        recipients = await recipients_of(session, selection, draft.channel)
        return await start(session, draft, recipients, shared)


TRANSITIONS = {
    "pause": ({CampaignStatus.RUNNING}, CampaignStatus.PAUSED),
    "resume": ({CampaignStatus.PAUSED}, CampaignStatus.RUNNING),
    "cancel": ({CampaignStatus.RUNNING, CampaignStatus.PAUSED}, CampaignStatus.CANCELLED),
}


async def change(db: Database, campaign_id: uuid.UUID, action: str) -> CampaignRow:
    allowed, target = TRANSITIONS[action]
    async with db.transaction() as session:
        campaign = await CampaignRepository(session).get(campaign_id, for_update=True)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id} not found")
        current = CampaignStatus(campaign.status)
        if current is target:
            return campaign
        if current not in allowed:
            raise FailedPrecondition(f"a {current.value} campaign cannot be {action}d", rule=f"campaign_{action}")
        campaign.status = target.value
        if target is CampaignStatus.CANCELLED:
            # Messages already handed to a provider stay as they are; the rest never go.
            await MessageRepository(session).cancel_queued(campaign.id)
        await session.flush()
        return campaign
