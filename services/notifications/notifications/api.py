"""crm.notifications.v1.NotificationsService: decode, call the use case, encode."""

from __future__ import annotations

import uuid
from datetime import date

from crm.common.v1 import common_pb2
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.auth import current_principal
from crm_platform.contacts import normalize_email, normalize_phone
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.money import Money
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, enum_out, money_in, money_out, timestamp_out
from notifications import campaigns, debts, messages, templates
from notifications.catalog import BUILT_IN
from notifications.domain import CampaignStatus, Channel, Language, MessageStatus, check_code, sms_size
from notifications.models import CampaignRow, MessageRow, UserRow
from notifications.repository import (
    CampaignRepository,
    MessageRepository,
    PartnerRepository,
    SelectionFilter,
    UserRepository,
)
from notifications.templating import Rendered, coerce

MAX_REQUEST_ID = 120
MAX_ID = 120
STAFF = frozenset({"manager", "head"})
OPS = frozenset({"head", "ops", "service"})


def channel_in(value: int, field: str = "channel") -> Channel:
    return enum_in(value, pb.Channel, "CHANNEL_", Channel, field)


def language_in(value: int, field: str = "language", *, default: Language | None = Language.UK) -> Language:
    if value == pb.LANGUAGE_UNSPECIFIED and default is not None:
        return default
    return enum_in(value, pb.Language, "LANGUAGE_", Language, field)


def request_id_in(value: str, *, required: bool = True) -> str:
    clean = value.strip()
    if required and not clean:
        raise InvalidArgument.single("request_id", "is required (repeating it repeats nothing)")
    if len(clean) > MAX_REQUEST_ID:
        raise InvalidArgument.single("request_id", f"longer than {MAX_REQUEST_ID} characters")
    return clean


def rendered_out(rendered: Rendered, language: Language, channel: Channel) -> pb.RenderedMessage:
    out = pb.RenderedMessage(
        subject=rendered.subject, body=rendered.body, language=enum_out(language, pb.Language, "LANGUAGE_")
    )
    if channel is Channel.SMS:
        size = sms_size(rendered.body)
        out.sms.CopyFrom(pb.SmsInfo(encoding=size.encoding, length=size.length, segments=size.segments))
    return out


def message_out(row: MessageRow) -> pb.Message:
    return pb.Message(
        id=str(row.id),
        channel=enum_out(row.channel, pb.Channel, "CHANNEL_"),
        recipient=row.recipient,
        campaign_id=str(row.campaign_id) if row.campaign_id else "",
        source=row.origin,
        status=enum_out(row.status, pb.MessageStatus, "MESSAGE_STATUS_"),
        attempts=row.attempts,
        last_error=row.last_error,
        subject=row.subject,
        body=row.body,
        provider_message_id=row.provider_message_id,
        created_at=timestamp_out(row.created_at),
        sent_at=timestamp_out(row.sent_at),
        partner_id=str(row.partner_id) if row.partner_id else "",
    )


def campaign_out(row: CampaignRow, counts: dict[str, int]) -> pb.Campaign:
    progress = pb.CampaignProgress(total=sum(counts.values()))
    for status in MessageStatus:
        setattr(progress, status.value, counts.get(status.value, 0))
    return pb.Campaign(
        id=str(row.id),
        name=row.name,
        channel=enum_out(row.channel, pb.Channel, "CHANNEL_"),
        template_code=row.template_code,
        status=enum_out(CampaignStatus(row.status), pb.CampaignStatus, "CAMPAIGN_STATUS_"),
        progress=progress,
        created_at=timestamp_out(row.created_at),
    )


def user_out(row: UserRow) -> pb.User:
    return pb.User(
        user_id=row.user_id,
        full_name=row.full_name,
        email=row.email,
        phone=row.phone,
        language=enum_out(row.language, pb.Language, "LANGUAGE_"),
        channel=enum_out(row.channel, pb.Channel, "CHANNEL_"),
    )


def _strings(values: object, field: str, limit: int = 120) -> list[str]:
    out = []
    for i, value in enumerate(values):  # type: ignore[attr-defined]
        clean = " ".join(str(value).split())
        if not clean or len(clean) > limit:
            raise InvalidArgument.single(f"{field}[{i}]", f"must be 1-{limit} characters")
        out.append(clean)
    return out


def debtor_filter_in(message: pb.DebtorFilter) -> debts.DebtorFilter:
    as_of: date | None = None
    if message.as_of:
        try:
            as_of = date.fromisoformat(message.as_of)
        except ValueError:
            raise InvalidArgument.single("filter.as_of", "must be a date YYYY-MM-DD") from None
    return debts.DebtorFilter(
        min_overdue_days=message.min_overdue_days,
        min_amount=money_in(message.min_amount, "filter.min_amount", required=False),
        manager_ids=_strings(message.manager_ids, "filter.manager_ids"),
        regions=_strings(message.regions, "filter.regions"),
        as_of=as_of,
    )


class NotificationsApi(pb_grpc.NotificationsServiceServicer):
    def __init__(self, db: Database, wake: object = None) -> None:
        self.db = db
        self._wake = wake

    def _woken(self) -> None:
        if callable(self._wake):
            self._wake()

    async def SaveTemplate(self, request: pb.SaveTemplateRequest, context: ServicerContext) -> pb.Template:
        draft = templates.TemplateDraft(
            code=request.code.strip(),
            channel=channel_in(request.channel),
            placeholders=list(request.placeholders),
            language=language_in(request.text.language, "text.language", default=None),
            subject=request.text.subject,
            body=request.text.body,
        )
        rows = await templates.save_template(self.db, draft)
        return pb.Template(
            code=draft.code,
            channel=request.channel,
            placeholders=sorted(rows[0].placeholders) if rows else [],
            texts=[
                pb.TemplateText(language=enum_out(r.language, pb.Language, "LANGUAGE_"), subject=r.subject, body=r.body)
                for r in rows
            ],
            built_in=draft.code in BUILT_IN,
        )

    async def PreviewMessage(self, request: pb.PreviewMessageRequest, context: ServicerContext) -> pb.RenderedMessage:
        code = check_code(request.template_code, "template_code")
        language = language_in(request.language)
        values = coerce(dict(request.variables))
        async with self.db.reading() as session:
            resolved = await templates.resolve(session, code, language)
        return rendered_out(resolved.render(values), resolved.language, resolved.channel)

    async def SendMessage(self, request: pb.SendMessageRequest, context: ServicerContext) -> pb.Message:
        v = Violations()
        request_id = request_id_in(request.request_id)
        channel = channel_in(request.channel)
        code = check_code(request.template_code, "template_code")
        v.raise_if_any()
        row = await messages.send_message(
            self.db,
            request_id=request_id,
            channel=channel,
            recipient=request.recipient,
            template_code=code,
            language=language_in(request.language),
            variables=dict(request.variables),
        )
        self._woken()
        return message_out(row)

    async def GetMessage(self, request: pb.GetMessageRequest, context: ServicerContext) -> pb.Message:
        message_id = parse_id(request.id, "id")
        async with self.db.reading() as session:
            row = await MessageRepository(session).get(message_id)
        if row is None:
            raise NotFound(f"message {message_id} not found")
        return message_out(row)

    async def CreateCampaign(self, request: pb.CreateCampaignRequest, context: ServicerContext) -> pb.Campaign:
        s = request.selection
        selection = SelectionFilter(
            segments=_strings(s.segments, "selection.segments"),
            regions=_strings(s.regions, "selection.regions"),
            manager_ids=_strings(s.manager_ids, "selection.manager_ids"),
            tags=_strings(s.tags, "selection.tags"),
            abc_classes=_strings(s.abc_classes, "selection.abc_classes", limit=1),
        )
        draft = campaigns.CampaignDraft(
            request_id=request_id_in(request.request_id),
            name=request.name,
            kind="mailing",
            channel=channel_in(request.channel),
            template_code=check_code(request.template_code, "template_code"),
            selection={k: list(getattr(selection, k)) for k in selection.__dataclass_fields__},
            created_by=current_principal().subject,
        )
        row = await campaigns.create_mailing(self.db, draft, selection, coerce(dict(request.variables)))
        self._woken()
        return await self._campaign(row.id)

    async def GetCampaign(self, request: pb.GetCampaignRequest, context: ServicerContext) -> pb.Campaign:
        return await self._campaign(parse_id(request.id, "id"))

    async def PauseCampaign(self, request: pb.CampaignActionRequest, context: ServicerContext) -> pb.Campaign:
        row = await campaigns.change(self.db, parse_id(request.id, "id"), "pause")
        return await self._campaign(row.id)

    async def ResumeCampaign(self, request: pb.CampaignActionRequest, context: ServicerContext) -> pb.Campaign:
        row = await campaigns.change(self.db, parse_id(request.id, "id"), "resume")
        self._woken()
        return await self._campaign(row.id)

    async def CancelCampaign(self, request: pb.CampaignActionRequest, context: ServicerContext) -> pb.Campaign:
        row = await campaigns.change(self.db, parse_id(request.id, "id"), "cancel")
        return await self._campaign(row.id)

    async def ListCampaignMessages(
        self, request: pb.ListCampaignMessagesRequest, context: ServicerContext
    ) -> pb.ListCampaignMessagesResponse:
        campaign_id = parse_id(request.campaign_id, "campaign_id")
        status = None
        if request.status != pb.MESSAGE_STATUS_UNSPECIFIED:
            status = enum_in(request.status, pb.MessageStatus, "MESSAGE_STATUS_", MessageStatus, "status").value
        size = page_size(request.page.page_size)
        token = PageToken.decode(request.page.page_token)
        async with self.db.reading() as session:
            if await CampaignRepository(session).get(campaign_id) is None:
                raise NotFound(f"campaign {campaign_id} not found")
            rows = await MessageRepository(session).list_for_campaign(
                campaign_id, status, token.id if token else None, size + 1
            )
        more = len(rows) > size
        rows = rows[:size]
        next_token = PageToken("", rows[-1].id).encode() if more and rows else ""
        return pb.ListCampaignMessagesResponse(
            messages=[message_out(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=-1),
        )

    async def PreviewDebtNotices(
        self, request: pb.PreviewDebtNoticesRequest, context: ServicerContext
    ) -> pb.PreviewDebtNoticesResponse:
        flt = debtor_filter_in(request.filter)
        channel = channel_in(request.channel)
        code = check_code(request.template_code, "template_code") if request.template_code else ""
        notices = await debts.preview(self.db, flt, channel, code)
        return pb.PreviewDebtNoticesResponse(
            debtors=[
                pb.Debtor(
                    partner_id=str(n.debtor.partner_id),
                    partner_name=n.debtor.partner_name,
                    manager_id=n.debtor.manager_id,
                    region=n.debtor.region,
                    overdue=money_out(common_pb2.Money, Money(n.debtor.overdue, n.debtor.currency).rounded()),
                    overdue_days=n.debtor.overdue_days,
                    invoices=n.debtor.invoices,
                    recipient=n.recipient,
                    message=rendered_out(n.message, Language(n.debtor.language), channel) if n.message else None,
                )
                for n in notices
            ]
        )

    async def SendDebtNotices(self, request: pb.SendDebtNoticesRequest, context: ServicerContext) -> pb.Campaign:
        request_id = request_id_in(request.request_id)
        flt = debtor_filter_in(request.filter)
        channel = channel_in(request.channel)
        code = check_code(request.template_code, "template_code") if request.template_code else ""
        row = await debts.send(self.db, request_id, flt, channel, code, current_principal().subject)
        self._woken()
        return await self._campaign(row.id)

    async def SetPartnerLanguage(
        self, request: pb.SetPartnerLanguageRequest, context: ServicerContext
    ) -> pb.SetPartnerLanguageResponse:
        partner_id = parse_id(request.partner_id, "partner_id")
        language = language_in(request.language, default=None)
        async with self.db.transaction() as session:
            if not await PartnerRepository(session).set_language(partner_id, language.value):
                raise NotFound(f"partner {partner_id} is not known to notifications")
        return pb.SetPartnerLanguageResponse()

    async def SaveUser(self, request: pb.SaveUserRequest, context: ServicerContext) -> pb.User:
        u = request.user
        v = Violations()
        user_id = u.user_id.strip()
        if not user_id or len(user_id) > MAX_ID:
            v.add("user.user_id", f"must be 1-{MAX_ID} characters")
        name = " ".join(u.full_name.split())
        if len(name) > 300:
            v.add("user.full_name", "longer than 300 characters")
        email = phone = ""
        try:
            email = normalize_email(u.email, "user.email").lower() if u.email.strip() else ""
        except InvalidArgument as exc:
            v.add("user.email", exc.violations[0].description)
        try:
            phone = normalize_phone(u.phone, "user.phone") if u.phone.strip() else ""
        except InvalidArgument as exc:
            v.add("user.phone", exc.violations[0].description)
        if not u.email.strip() and not u.phone.strip():
            v.add("user.email", "a user needs an e-mail or a phone to be notified")
        v.raise_if_any()
        channel = channel_in(u.channel, "user.channel") if u.channel else (Channel.EMAIL if email else Channel.SMS)
        if (channel is Channel.EMAIL and not email) or (channel is Channel.SMS and not phone):
            raise InvalidArgument.single("user.channel", f"no {channel.value} address to send to")
        row = UserRow(
            user_id=user_id,
            full_name=name,
            email=email,
            phone=phone,
            language=language_in(u.language, "user.language").value,
            channel=channel.value,
        )
        async with self.db.transaction() as session:
            await UserRepository(session).save(row)
        return user_out(row)

    async def GetUser(self, request: pb.GetUserRequest, context: ServicerContext) -> pb.User:
        user_id = request.user_id.strip()
        if not user_id:
            raise InvalidArgument.single("user_id", "is required")
        async with self.db.reading() as session:
            row = await UserRepository(session).get(user_id)
        if row is None:
            raise NotFound(f"user {user_id!r} is not in the directory")
        return user_out(row)

    async def _campaign(self, campaign_id: uuid.UUID) -> pb.Campaign:
        async with self.db.reading() as session:
            repo = CampaignRepository(session)
            row = await repo.get(campaign_id)
            if row is None:
                raise NotFound(f"campaign {campaign_id} not found")
            return campaign_out(row, await repo.progress(campaign_id))


def grpc_service(db: Database, wake: object = None) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name,
        servicer=NotificationsApi(db, wake),
        add_to_server=pb_grpc.add_NotificationsServiceServicer_to_server,
        access={
            "SendMessage": STAFF | {"service"},
            "PreviewMessage": STAFF | {"service"},
            "SaveTemplate": frozenset({"head"}),
            "SaveUser": OPS,
            "GetUser": OPS | STAFF,
        },
    )
