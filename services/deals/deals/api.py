"""crm.deals.v1.DealsService: decode, call the use case, encode."""

from __future__ import annotations

from datetime import datetime

from crm.common.v1 import common_pb2
from crm.deals.v1 import deals_pb2 as pb
from crm.deals.v1 import deals_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.auth import Role
from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, Violations
from crm_platform.grpc_server import GrpcService
from crm_platform.ids import parse_id
from crm_platform.paging import PageToken, page_size
from crm_platform.proto_codec import (
    enum_in,
    enum_out,
    money_in,
    money_rounded_out,
    timestamp_in,
    timestamp_out,
)
from deals import dealflow, documents, planning, processes
from deals.commerce_api import CommerceMethods
from deals.dealflow import DealChanges, DealView
from deals.domain import (
    DealKind,
    DealStatus,
    ParticipantRole,
    Stage,
    StageCondition,
    check_new_deal,
    clean_text,
    parse_date,
)
from deals.funnel import FunnelFigures, funnel
from deals.models import DealHistoryRow, LostReasonRow, TaskRow
from deals.opening import NewDeal, open_deal
from deals.planning import NewTask
from deals.pricing_gateway import PricingGateway
from deals.processes import ProcessView
from deals.repository import DealFilter, DealRepository

MAX_ID = 120
HEADS = frozenset({Role.HEAD, Role.OPS})


def _money(amount: object, currency: str | None) -> common_pb2.Money:
    return money_rounded_out(common_pb2.Money, amount, currency)


def deal_out(v: DealView) -> pb.Deal:
    deal, partner = v.deal, v.partner
    return pb.Deal(
        id=str(deal.id),
        title=deal.title,
        partner=pb.PartnerSummary(
            id=str(deal.partner_id),
            name=partner.name if partner else "",
            manager_id=partner.manager_id if partner else "",
            segment=partner.segment if partner else "",
            abc_class=partner.abc_class if partner else "",
        ),
        manager_id=deal.manager_id,
        status=enum_out(deal.status, pb.DealStatus, "DEAL_STATUS_"),
        expected_amount=_money(deal.expected_amount, deal.currency),
        created_at=timestamp_out(deal.created_at),
        kind=enum_out(deal.kind, pb.DealKind, "DEAL_KIND_"),
        process_id=str(deal.process_id or ""),
        stage_code=deal.stage_code or "",
        stage_name=v.stage_name,
        counterparty=deal.counterparty,
        source=deal.source,
        expected_close_date=deal.expected_close_date.isoformat() if deal.expected_close_date else "",
        lost_reason_id=str(deal.lost_reason_id or ""),
        lost_reason=v.lost_reason,
        lost_comment=deal.lost_comment,
        closed_at=timestamp_out(deal.closed_at) if deal.closed_at else None,
        participants=[
            pb.Participant(
                partner_id=str(row.partner_id),
                name=name,
                role=enum_out(row.role, pb.ParticipantRole, "PARTICIPANT_ROLE_"),
                note=row.note,
            )
            for row, name in v.participants
        ],
        version=deal.version,
    )


def _status(value: str) -> int:
    return enum_out(value, pb.DealStatus, "DEAL_STATUS_") if value else 0


def history_out(row: DealHistoryRow) -> pb.HistoryEntry:
    return pb.HistoryEntry(
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        from_status=_status(row.from_status),
        to_status=_status(row.to_status),
        skipped_stages=list(row.skipped),
        moved_by=row.moved_by,
        moved_at=timestamp_out(row.moved_at),
        comment=row.comment,
    )


def process_out(v: ProcessView) -> pb.SalesProcess:
    return pb.SalesProcess(
        id=str(v.process.id),
        name=v.process.name,
        is_default=v.process.is_default,
        version=v.process.version,
        stages=[
            pb.Stage(
                code=s.code,
                name=s.name,
                exit_conditions=[enum_out(c, pb.StageCondition, "STAGE_CONDITION_") for c in s.exit_conditions],
            )
            for s in v.stages
        ],
    )


def stages_in(items: list[pb.Stage]) -> list[Stage]:
    return [
        Stage(
            s.code.strip(),
            s.name,
            tuple(
                enum_in(c, pb.StageCondition, "STAGE_CONDITION_", StageCondition, f"stages[{i}].exit_conditions[{j}]")
                for j, c in enumerate(s.exit_conditions)
            ),
        )
        for i, s in enumerate(items)
    ]


def reason_out(row: LostReasonRow) -> pb.LostReason:
    return pb.LostReason(id=str(row.id), name=row.name, active=row.active)


def task_out(row: TaskRow) -> pb.PlannedTask:
    return pb.PlannedTask(
        id=str(row.id),
        deal_id=str(row.deal_id),
        title=row.title,
        performer_id=row.performer_id,
        deadline=timestamp_out(row.deadline),
        status=enum_out(row.status, pb.TaskStatus, "TASK_STATUS_"),
        interactions_task_id=row.interactions_task_id,
    )


def funnel_out(f: FunnelFigures) -> pb.Funnel:
    def amounts(values: dict) -> list[common_pb2.Money]:
        return [_money(a, c) for c, a in sorted(values.items())]

    return pb.Funnel(
        process_id=f.process_id,
        won_deals=f.won_deals,
        won_amount=amounts(f.won_amount),
        potential_revenue=amounts(f.potential_revenue),
        stages=[
            pb.FunnelStage(
                code=s.stage.code,
                name=s.stage.name,
                open_deals=s.open_deals,
                open_amount=amounts(s.open_amount),
                reached=s.reached,
                went_on=s.went_on,
                conversion_to_next="" if s.conversion is None else format(s.conversion, "f"),
                lost_deals=s.lost_deals,
                lost_by_reason=[
                    pb.LostCount(lost_reason_id=rid, lost_reason=f.reason_names.get(rid, ""), deals=n)
                    for rid, n in sorted(s.lost_by_reason.items(), key=lambda kv: -kv[1])
                ],
            )
            for s in f.stages
        ],
    )


def _request_id(value: str) -> str | None:
    if len(value) > MAX_ID:
        raise InvalidArgument.single("request_id", f"longer than {MAX_ID} characters")
    return value or None


def _user_id(value: str, field: str) -> str:
    if len(value) > MAX_ID:
        raise InvalidArgument.single(field, f"longer than {MAX_ID} characters")
    return value.strip()


def _optional_id(value: str, field: str):
    return parse_id(value, field) if value else None


def _filter(request: pb.ListDealsRequest | pb.GetFunnelRequest) -> DealFilter:
    opened_from = timestamp_in(request.opened_from, "opened_from", required=False)
    opened_to = timestamp_in(request.opened_to, "opened_to", required=False)
    if opened_from and opened_to and opened_to <= opened_from:
        raise InvalidArgument.single("opened_to", "must be after opened_from")
    common = {
        "process_id": _optional_id(request.process_id, "process_id"),
        "manager_id": _user_id(request.manager_id, "manager_id"),
        "partner_segment": request.partner_segment.strip(),
        "opened_from": opened_from,
        "opened_to": opened_to,
    }
    if isinstance(request, pb.GetFunnelRequest):
        return DealFilter(**common)
    status = (
        enum_in(request.status, pb.DealStatus, "DEAL_STATUS_", DealStatus, "status").value if request.status else ""
    )
    return DealFilter(
        **common,
        stage_code=request.stage_code.strip(),
        status=status,
        partner_id=_optional_id(request.partner_id, "partner_id"),
        lost_reason_id=_optional_id(request.lost_reason_id, "lost_reason_id"),
    )


UPDATABLE = {"title", "counterparty", "source", "expected_amount", "expected_close_date", "manager_id"}


def _changes(request: pb.UpdateDealRequest) -> DealChanges:
    paths = list(request.update_mask.paths)
    if not paths:
        raise InvalidArgument.single("update_mask", "name at least one field to change")
    unknown = [p for p in paths if p not in UPDATABLE]
    if unknown:
        raise InvalidArgument.single("update_mask", f"cannot change {', '.join(unknown)}")
    v = Violations()
    values: dict[str, object] = {}
    if "title" in paths:
        values["title"] = clean_text(request.title, "title", v, required=True)
    if "counterparty" in paths:
        values["counterparty"] = clean_text(request.counterparty, "counterparty", v)
    if "source" in paths:
        values["source"] = clean_text(request.source, "source", v)
    if "manager_id" in paths:
        values["manager_id"] = clean_text(request.manager_id, "manager_id", v, required=True, limit=MAX_ID)
    v.raise_if_any()
    if "expected_amount" in paths:
        expected = money_in(request.expected_amount, "expected_amount", required=False)
        values["expected"] = expected
        values["clear_expected"] = expected is None
    if "expected_close_date" in paths:
        values["expected_close_date"] = parse_date(request.expected_close_date, "expected_close_date")
        values["clear_close_date"] = not request.expected_close_date
    return DealChanges(**values)  # type: ignore[arg-type]


class DealsApi(CommerceMethods, pb_grpc.DealsServiceServicer):
    def __init__(self, db: Database, pricing: PricingGateway) -> None:
        self.db = db
        self.pricing = pricing

    async def OpenDeal(self, request: pb.OpenDealRequest, context: ServicerContext) -> pb.Deal:
        request_id = _request_id(request.request_id)
        partner_id = parse_id(request.partner_id, "partner_id")
        expected = money_in(request.expected_amount, "expected_amount", required=False)
        title = check_new_deal(request.title, expected)
        kind = (
            enum_in(request.kind, pb.DealKind, "DEAL_KIND_", DealKind, "kind") if request.kind else DealKind.CONTROLLED
        )
        process_id = _optional_id(request.process_id, "process_id")
        if kind == DealKind.NON_PROCESS and process_id:
            raise InvalidArgument.single("process_id", "a non-process deal follows no process")
        v = Violations()
        counterparty = clean_text(request.counterparty, "counterparty", v)
        source = clean_text(request.source, "source", v)
        v.raise_if_any()
        deal = await open_deal(
            self.db,
            NewDeal(
                partner_id=partner_id,
                title=title,
                manager_id=_user_id(request.manager_id, "manager_id"),
                expected=expected,
                request_id=request_id,
                kind=kind,
                process_id=process_id,
                counterparty=counterparty,
                source=source,
                expected_close_date=parse_date(request.expected_close_date, "expected_close_date"),
            ),
        )
        return deal_out(await dealflow.get_view(self.db, deal.id))

    async def GetDeal(self, request: pb.GetDealRequest, context: ServicerContext) -> pb.Deal:
        return deal_out(await dealflow.get_view(self.db, parse_id(request.id, "id")))

    async def ListDeals(self, request: pb.ListDealsRequest, context: ServicerContext) -> pb.ListDealsResponse:
        size = page_size(request.page.page_size)
        token = PageToken.decode(request.page.page_token)
        f = _filter(request)
        after = None
        if token is not None:
            try:
                after = (datetime.fromisoformat(token.key), token.id)
            except ValueError:
                raise InvalidArgument.single("page.page_token", "not a page token this service issued") from None
        async with self.db.reading() as session:
            deals = DealRepository(session)
            rows = await deals.page(f, size + 1, after)
            views = [await dealflow.view(session, d) for d in rows[:size]]
            total = await deals.count(f) if token is None else -1
        next_token = ""
        if len(rows) > size:
            last = rows[size - 1]
            next_token = PageToken(last.created_at.isoformat(), last.id).encode()
        return pb.ListDealsResponse(
            deals=[deal_out(v) for v in views],
            page=common_pb2.PageResponse(next_page_token=next_token, total_size=total),
        )

    async def UpdateDeal(self, request: pb.UpdateDealRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.id, "id")
        if request.expected_version < 0:
            raise InvalidArgument.single("expected_version", "must not be negative")
        changes = _changes(request)
        return deal_out(await dealflow.update(self.db, deal_id, changes, request.expected_version))

    async def MoveDeal(self, request: pb.MoveDealRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.id, "id")
        if not request.stage_code.strip():
            raise InvalidArgument.single("stage_code", "is required")
        v = Violations()
        comment = clean_text(request.comment, "comment", v, limit=2000)
        v.raise_if_any()
        return deal_out(await dealflow.move(self.db, deal_id, request.stage_code.strip(), comment))

    async def WinDeal(self, request: pb.WinDealRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.id, "id")
        amount = money_in(request.amount, "amount", required=False)
        return deal_out(await dealflow.win(self.db, deal_id, amount))

    async def LoseDeal(self, request: pb.LoseDealRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.id, "id")
        reason_id = parse_id(request.lost_reason_id, "lost_reason_id")
        v = Violations()
        comment = clean_text(request.comment, "comment", v, limit=2000)
        v.raise_if_any()
        return deal_out(await dealflow.lose(self.db, deal_id, reason_id, comment))

    async def ReopenDeal(self, request: pb.ReopenDealRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.id, "id")
        v = Violations()
        comment = clean_text(request.comment, "comment", v, limit=2000)
        v.raise_if_any()
        return deal_out(await dealflow.reopen(self.db, deal_id, comment))

    async def ListDealHistory(
        self, request: pb.ListDealHistoryRequest, context: ServicerContext
    ) -> pb.ListDealHistoryResponse:
        rows = await dealflow.history(self.db, parse_id(request.deal_id, "deal_id"))
        return pb.ListDealHistoryResponse(entries=[history_out(r) for r in rows])

    async def ListDealDocuments(
        self, request: pb.ListDealDocumentsRequest, context: ServicerContext
    ) -> pb.ListDealDocumentsResponse:
        found = await documents.of_deal(self.db, parse_id(request.deal_id, "deal_id"))
        return pb.ListDealDocumentsResponse(
            documents=[
                pb.DealDocument(
                    kind=enum_out(d.kind, pb.DocumentKind, "DOCUMENT_KIND_"),
                    id=str(d.id),
                    order_id=str(d.order_id or ""),
                    status=d.status,
                    amount=_money(d.amount, d.currency),
                    at=timestamp_out(d.at),
                    title=d.title,
                )
                for d in found
            ]
        )

    async def AddParticipant(self, request: pb.AddParticipantRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.deal_id, "deal_id")
        partner_id = parse_id(request.partner_id, "partner_id")
        role = enum_in(request.role, pb.ParticipantRole, "PARTICIPANT_ROLE_", ParticipantRole, "role")
        v = Violations()
        note = clean_text(request.note, "note", v, limit=1000)
        v.raise_if_any()
        return deal_out(await planning.add_participant(self.db, deal_id, partner_id, role, note))

    async def RemoveParticipant(self, request: pb.RemoveParticipantRequest, context: ServicerContext) -> pb.Deal:
        deal_id = parse_id(request.deal_id, "deal_id")
        partner_id = parse_id(request.partner_id, "partner_id")
        role = enum_in(request.role, pb.ParticipantRole, "PARTICIPANT_ROLE_", ParticipantRole, "role")
        return deal_out(await planning.remove_participant(self.db, deal_id, partner_id, role))

    async def PlanTask(self, request: pb.PlanTaskRequest, context: ServicerContext) -> pb.PlannedTask:
        request_id = _request_id(request.request_id)
        deal_id = parse_id(request.deal_id, "deal_id")
        v = Violations()
        title = clean_text(request.title, "title", v, required=True)
        description = request.description.strip()
        if len(description) > 4000:
            v.add("description", "longer than 4000 characters")
        v.raise_if_any()
        deadline = timestamp_in(request.deadline, "deadline")
        task = await planning.plan_task(
            self.db,
            NewTask(
                deal_id=deal_id,
                title=title,
                description=description,
                performer_id=_user_id(request.performer_id, "performer_id"),
                checker_id=_user_id(request.checker_id, "checker_id"),
                deadline=deadline,  # type: ignore[arg-type]
                request_id=request_id,
            ),
        )
        return task_out(task)

    async def ListTasks(self, request: pb.ListTasksRequest, context: ServicerContext) -> pb.ListTasksResponse:
        rows = await planning.list_tasks(self.db, parse_id(request.deal_id, "deal_id"))
        return pb.ListTasksResponse(tasks=[task_out(r) for r in rows])

    async def CreateProcess(self, request: pb.CreateProcessRequest, context: ServicerContext) -> pb.SalesProcess:
        request_id = _request_id(request.request_id)
        created = await processes.create_process(self.db, request.name, stages_in(list(request.stages)), request_id)
        return process_out(created)

    async def UpdateProcess(self, request: pb.UpdateProcessRequest, context: ServicerContext) -> pb.SalesProcess:
        process_id = parse_id(request.id, "id")
        updated = await processes.update_process(
            self.db, process_id, request.name, stages_in(list(request.stages)), request.expected_version
        )
        return process_out(updated)

    async def GetProcess(self, request: pb.GetProcessRequest, context: ServicerContext) -> pb.SalesProcess:
        return process_out(await processes.get_process(self.db, parse_id(request.id, "id")))

    async def ListProcesses(
        self, request: pb.ListProcessesRequest, context: ServicerContext
    ) -> pb.ListProcessesResponse:
        return pb.ListProcessesResponse(processes=[process_out(p) for p in await processes.list_processes(self.db)])

    async def CreateLostReason(self, request: pb.CreateLostReasonRequest, context: ServicerContext) -> pb.LostReason:
        return reason_out(await processes.create_lost_reason(self.db, request.name))

    async def UpdateLostReason(self, request: pb.UpdateLostReasonRequest, context: ServicerContext) -> pb.LostReason:
        reason_id = parse_id(request.id, "id")
        return reason_out(await processes.update_lost_reason(self.db, reason_id, request.name, request.active))

    async def ListLostReasons(
        self, request: pb.ListLostReasonsRequest, context: ServicerContext
    ) -> pb.ListLostReasonsResponse:
        rows = await processes.list_lost_reasons(self.db, request.include_inactive)
        return pb.ListLostReasonsResponse(reasons=[reason_out(r) for r in rows])

    async def GetFunnel(self, request: pb.GetFunnelRequest, context: ServicerContext) -> pb.Funnel:
        return funnel_out(await funnel(self.db, _filter(request)))


def grpc_service(db: Database, pricing: PricingGateway) -> GrpcService:
    return GrpcService(
        full_name=pb.DESCRIPTOR.services_by_name["DealsService"].full_name,
        servicer=DealsApi(db, pricing),
        add_to_server=pb_grpc.add_DealsServiceServicer_to_server,
        access={
            # Process templates and the lost-reason list shape everyone's work: heads of sales edit them.
            "CreateProcess": HEADS,
            "UpdateProcess": HEADS,
            "CreateLostReason": HEADS,
            "UpdateLostReason": HEADS,
            "SetOrderStates": HEADS,
            "DecideProposalApproval": HEADS,
            "ApproveOrder": HEADS,
        },
    )
