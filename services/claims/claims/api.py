"""crm.claims.v1.ClaimsService: decode, call the use case, encode."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from crm.claims.v1 import claims_pb2 as pb
from crm.claims.v1 import claims_pb2_grpc as pb_grpc
from crm.common.v1 import common_pb2
from grpc.aio import ServicerContext

from claims import encode
from claims.access import client_partner, is_client, visible
from claims.analytics import Analytics
from claims.domain import MAX_ID, ClaimantKind, ClaimData, ClaimStatus, check_activity, parse_period, validate_claim
from claims.files import ClaimFiles, UploadStart, check_file_name
from claims.plan import add_activity
from claims.process import change_status
from claims.reasons import create_reason, update_reason
from claims.registration import register_claim
from claims.repository import (
    ActivityRepository,
    ClaimFilter,
    ClaimRepository,
    FileRepository,
    InteractionRepository,
    KnownPartnerRepository,
    ReasonRepository,
)
from crm_platform.auth import STAFF, Principal, Role, current_principal
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, PermissionDenied, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import enum_in, timestamp_in

MAX_TOP = 100


def _request_id(value: str, field: str = "request_id") -> str | None:
    if len(value) > MAX_ID:
        raise InvalidArgument.single(field, f"longer than {MAX_ID} characters")
    return value or None


def _optional_id(value: str, field: str, v: Violations) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        v.add(field, "must be a UUID")
        return None


class ClaimsApi(pb_grpc.ClaimsServiceServicer):
    def __init__(self, db: Database, files: ClaimFiles) -> None:
        self.db = db
        self.files = files
        self.analytics = Analytics(db)

    async def RegisterClaim(self, request: pb.RegisterClaimRequest, context: ServicerContext) -> pb.Claim:
        request_id = _request_id(request.request_id)
        if not request.HasField("claim"):
            raise InvalidArgument.single("claim", "is required")
        principal = current_principal()
        draft = request.claim
        v = Violations()
        partner_id = _optional_id(draft.partner_id, "claim.partner_id", v)
        if is_client(principal):
            own = str(client_partner(principal))
            if partner_id and partner_id != own:
                raise PermissionDenied("a client registers claims for its own partner only")
            partner_id = own
        elif partner_id is None and not draft.partner_id:
            v.add("claim.partner_id", "is required")
        kind = ClaimantKind.CLIENT  # what a client registering its own claim is, unless it says otherwise
        if draft.claimant_kind or not is_client(principal):
            try:
                kind = enum_in(
                    draft.claimant_kind, pb.ClaimantKind, "CLAIMANT_KIND_", ClaimantKind, "claim.claimant_kind"
                )
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
        deal_id = _optional_id(draft.deal_id, "claim.deal_id", v)
        order_id = _optional_id(draft.order_id, "claim.order_id", v)
        v.raise_if_any()
        data = validate_claim(
            ClaimData(
                partner_id=str(partner_id),
                claimant_kind=kind,
                contact_person=draft.contact_person,
                culprit_department=draft.culprit_department,
                culprit_employee_id=draft.culprit_employee_id,
                essence=draft.essence,
                reason_codes=tuple(draft.reason_codes),
                desired_result=draft.desired_result,
                deal_id=deal_id,
                order_id=order_id,
                responsible_id=draft.responsible_id,
                manager_id=draft.manager_id,
            )
        )
        claim = await register_claim(
            self.db,
            data,
            registered_by="client" if is_client(principal) else "staff",
            user=principal.subject,
            request_id=request_id,
        )
        return await self._full(claim.id, principal)

    async def GetClaim(self, request: pb.GetClaimRequest, context: ServicerContext) -> pb.Claim:
        return await self._full(parse_id(request.id, "id"), current_principal())

    async def ListClaims(self, request: pb.ListClaimsRequest, context: ServicerContext) -> pb.ListClaimsResponse:
        principal = current_principal()
        size = page_size(request.page.page_size)
        after = PageToken.decode(request.page.page_token)
        v = Violations()
        partner = _optional_id(request.partner_id, "partner_id", v)
        status = None
        if request.status:
            try:
                status = enum_in(request.status, pb.ClaimStatus, "CLAIM_STATUS_", ClaimStatus, "status")
            except InvalidArgument as exc:
                v.add(exc.violations[0].field, exc.violations[0].description)
        for name in ("culprit_department", "responsible_id"):
            if len(getattr(request, name)) > 300:
                v.add(name, "longer than 300 characters")
        v.raise_if_any()
        partner_id = uuid.UUID(partner) if partner else None
        if is_client(principal):
            own = client_partner(principal)
            if partner_id is not None and partner_id != own:
                raise PermissionDenied("a client lists its own claims only")
            partner_id = own
        where = ClaimFilter(
            partner_id=partner_id,
            status=status.value if status else None,
            culprit_department=" ".join(request.culprit_department.split()),
            responsible_id=request.responsible_id.strip(),
        )
        async with self.db.reading() as session:
            rows, more = await ClaimRepository(session).page(where, size, after)
            progress = await ActivityRepository(session).progress([r.id for r in rows])
            names = await KnownPartnerRepository(session).names(list({r.partner_id for r in rows}))
        token = PageToken(str(rows[-1].number), rows[-1].id).encode() if more and rows else ""
        return pb.ListClaimsResponse(
            claims=[encode.summary(r, progress[r.id], names.get(r.partner_id, "")) for r in rows],
            page=common_pb2.PageResponse(next_page_token=token, total_size=-1),
        )

    async def ChangeStatus(self, request: pb.ChangeStatusRequest, context: ServicerContext) -> pb.Claim:
        claim_id = parse_id(request.claim_id, "claim_id")
        target = enum_in(request.to_status, pb.ClaimStatus, "CLAIM_STATUS_", ClaimStatus, "to_status")
        if target == ClaimStatus.REGISTERED:
            raise InvalidArgument.single("to_status", "a claim is registered only once, by RegisterClaim")
        if request.expected_version < 0:
            raise InvalidArgument.single("expected_version", "must not be negative")
        principal = current_principal()
        await change_status(
            self.db,
            principal,
            claim_id,
            target,
            result=request.result,
            comment=request.comment,
            responsible_id=request.responsible_id,
            expected_version=request.expected_version,
        )
        return await self._full(claim_id, principal)

    async def AddPlanActivity(self, request: pb.AddPlanActivityRequest, context: ServicerContext) -> pb.Claim:
        claim_id = parse_id(request.claim_id, "claim_id")
        request_id = _request_id(request.request_id)
        name, description, performer, checker = check_activity(
            request.name, request.description, request.performer_id, request.checker_id
        )
        due_at = timestamp_in(request.due_at, "due_at")
        assert due_at is not None
        principal = current_principal()
        await add_activity(
            self.db,
            principal,
            claim_id,
            request_id=request_id,
            name=name,
            description=description,
            performer_id=performer,
            checker_id=checker,
            due_at=due_at,
        )
        return await self._full(claim_id, principal)

    async def ListReasons(self, request: pb.ListReasonsRequest, context: ServicerContext) -> pb.ListReasonsResponse:
        async with self.db.reading() as session:
            rows = await ReasonRepository(session).list(include_archived=request.include_archived)
        return pb.ListReasonsResponse(reasons=[encode.reason(r) for r in rows])

    async def CreateReason(self, request: pb.CreateReasonRequest, context: ServicerContext) -> pb.Reason:
        return encode.reason(await create_reason(self.db, request.code, request.name))

    async def UpdateReason(self, request: pb.UpdateReasonRequest, context: ServicerContext) -> pb.Reason:
        return encode.reason(await update_reason(self.db, request.code, request.name, request.archived))

    async def UploadFile(
        self, request_iterator: AsyncIterator[pb.UploadFileRequest], context: ServicerContext
    ) -> pb.ClaimFile:
        principal = current_principal()
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        if first is None or first.WhichOneof("part") != "start":
            raise InvalidArgument.single("start", "the first message must carry start")
        start = UploadStart(
            claim_id=parse_id(first.start.claim_id, "start.claim_id"),
            file_name=check_file_name(first.start.file_name),
            request_id=_request_id(first.start.request_id, "start.request_id"),
        )

        async def chunks() -> AsyncIterator[bytes]:
            async for message in messages:
                if message.WhichOneof("part") != "chunk":
                    raise InvalidArgument.single("start", "only the first message may carry start")
                yield message.chunk

        return encode.file(await self.files.upload(principal, start, chunks()))

    async def DownloadFile(
        self, request: pb.DownloadFileRequest, context: ServicerContext
    ) -> AsyncIterator[pb.DownloadFileResponse]:
        claim_id = parse_id(request.claim_id, "claim_id")
        file_id = parse_id(request.file_id, "file_id")
        row = await self.files.find(current_principal(), claim_id, file_id)
        await self.files.verify(row)
        yield pb.DownloadFileResponse(file=encode.file(row))
        async for chunk in self.files.stream(row):
            yield pb.DownloadFileResponse(chunk=chunk)

    async def RegistrationDynamics(
        self, request: pb.RegistrationDynamicsRequest, context: ServicerContext
    ) -> pb.RegistrationDynamicsResponse:
        start, end = parse_period(request.period.from_date, request.period.to_date)
        current, previous = await self.analytics.dynamics(start, end)
        return pb.RegistrationDynamicsResponse(
            current=encode.dynamics(current), previous_year=encode.dynamics(previous)
        )

    async def SatisfactionByReason(
        self, request: pb.AnalyticsPeriodRequest, context: ServicerContext
    ) -> pb.SatisfactionByReasonResponse:
        start, end = parse_period(request.period.from_date, request.period.to_date)
        rows = await self.analytics.satisfaction(start, end)
        return pb.SatisfactionByReasonResponse(reasons=[encode.satisfaction(r) for r in rows])

    async def ClaimStructure(
        self, request: pb.ClaimStructureRequest, context: ServicerContext
    ) -> pb.ClaimStructureResponse:
        start, end = parse_period(request.period.from_date, request.period.to_date)
        if request.top < 0 or request.top > MAX_TOP:
            raise InvalidArgument.single("top", f"must be between 0 and {MAX_TOP}")
        return encode.structure(await self.analytics.structure(start, end, request.top or 10))

    async def _full(self, claim_id: uuid.UUID, principal: Principal) -> pb.Claim:
        async with self.db.reading() as session:
            claim = visible(await ClaimRepository(session).get(claim_id), principal, claim_id)
            history = await ClaimRepository(session).history(claim_id)
            plan = await ActivityRepository(session).of_claim(claim_id)
            files = await FileRepository(session).of_claim(claim_id)
            interactions = await InteractionRepository(session).of_claim(claim_id)
            partner = await KnownPartnerRepository(session).get(claim.partner_id)
        return encode.claim(claim, history, plan, files, interactions, partner.name if partner else "")


CLIENT_TOO = STAFF | {Role.CLIENT}
REASON_EDITORS = frozenset({Role.HEAD, Role.OPS})


def grpc_service(db: Database, files: ClaimFiles) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["ClaimsService"].full_name,
        servicer=ClaimsApi(db, files),
        add_to_server=pb_grpc.add_ClaimsServiceServicer_to_server,
        access={
            **dict.fromkeys(
                (
                    "RegisterClaim",
                    "GetClaim",
                    "ListClaims",
                    "ChangeStatus",
                    "UploadFile",
                    "DownloadFile",
                    "ListReasons",
                ),
                CLIENT_TOO,
            ),
            "CreateReason": REASON_EDITORS,
            "UpdateReason": REASON_EDITORS,
        },
    )
