"""Rows and report figures → protobuf messages."""

from __future__ import annotations

from collections.abc import Sequence

from crm.claims.v1 import claims_pb2 as pb

from claims.analytics import Dynamics, Entry, Satisfaction, Structure
from claims.domain import ActivityStatus, Progress, progress_of
from claims.models import ActivityRow, ClaimRow, FileRow, InteractionRow, ReasonRow, StatusChangeRow
from crm_platform.proto_codec import enum_out, timestamp_out


def _status(value: str) -> int:
    return enum_out(value, pb.ClaimStatus, "CLAIM_STATUS_") if value else 0


def progress(p: Progress) -> pb.PlanProgress:
    return pb.PlanProgress(total=p.total, done=p.done, checked=p.checked, percent=p.percent)


def details(claim: ClaimRow) -> pb.ClaimDraft:
    return pb.ClaimDraft(
        partner_id=str(claim.partner_id),
        claimant_kind=enum_out(claim.claimant_kind, pb.ClaimantKind, "CLAIMANT_KIND_"),
        contact_person=claim.contact_person,
        culprit_department=claim.culprit_department,
        culprit_employee_id=claim.culprit_employee_id,
        essence=claim.essence,
        reason_codes=list(claim.reason_codes),
        desired_result=claim.desired_result,
        deal_id=str(claim.deal_id) if claim.deal_id else "",
        order_id=str(claim.order_id) if claim.order_id else "",
        responsible_id=claim.responsible_id,
        manager_id=claim.manager_id,
    )


def activity(row: ActivityRow) -> pb.PlanActivity:
    return pb.PlanActivity(
        id=str(row.id),
        name=row.name,
        description=row.description,
        performer_id=row.performer_id,
        checker_id=row.checker_id,
        due_at=timestamp_out(row.due_at),
        status=enum_out(row.status, pb.ActivityStatus, "ACTIVITY_STATUS_"),
        task_id=row.task_id,
        done_at=timestamp_out(row.done_at),
        checked_at=timestamp_out(row.checked_at),
        check_comment=row.check_comment,
    )


def file(row: FileRow) -> pb.ClaimFile:
    return pb.ClaimFile(
        id=str(row.id),
        claim_id=str(row.claim_id),
        file_name=row.file_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        uploaded_by=row.uploaded_by,
        uploaded_at=timestamp_out(row.uploaded_at),
        corrupt=row.corrupt,
    )


def interaction(row: InteractionRow) -> pb.LinkedInteraction:
    return pb.LinkedInteraction(
        interaction_id=str(row.interaction_id),
        kind=row.kind,
        partner_id=row.partner_id,
        responsible_id=row.responsible_id,
        occurred_at=timestamp_out(row.occurred_at),
        processed_at=timestamp_out(row.processed_at),
    )


def claim(
    row: ClaimRow,
    history: Sequence[StatusChangeRow],
    plan: Sequence[ActivityRow],
    files: Sequence[FileRow],
    interactions: Sequence[InteractionRow],
    partner_name: str,
) -> pb.Claim:
    return pb.Claim(
        id=str(row.id),
        number=row.number,
        details=details(row),
        status=_status(row.status),
        result=row.result,
        registered_by=row.registered_by,
        registered_by_user=row.registered_by_user,
        registered_at=timestamp_out(row.registered_at),
        closed_at=timestamp_out(row.closed_at),
        version=row.version,
        history=[
            pb.StatusChange(
                from_status=_status(h.from_status),
                to_status=_status(h.to_status),
                changed_by=h.changed_by,
                changed_at=timestamp_out(h.changed_at),
                comment=h.comment,
            )
            for h in history
        ],
        plan=[activity(a) for a in plan],
        progress=progress(progress_of([ActivityStatus(a.status) for a in plan])),
        files=[file(f) for f in files],
        interactions=[interaction(i) for i in interactions],
        partner_name=partner_name,
    )


def summary(row: ClaimRow, plan_progress: Progress, partner_name: str) -> pb.ClaimSummary:
    return pb.ClaimSummary(
        id=str(row.id),
        number=row.number,
        partner_id=str(row.partner_id),
        status=_status(row.status),
        essence=row.essence[:200],
        culprit_department=row.culprit_department,
        responsible_id=row.responsible_id,
        registered_at=timestamp_out(row.registered_at),
        progress=progress(plan_progress),
        partner_name=partner_name,
    )


def reason(row: ReasonRow) -> pb.Reason:
    return pb.Reason(code=row.code, name=row.name, archived=row.archived)


def dynamics(d: Dynamics) -> pb.DynamicsFigures:
    return pb.DynamicsFigures(
        months=[pb.MonthFigures(month=m, registered=r, processed=p, still_open=o) for m, r, p, o in d.months],
        by_department=[pb.DepartmentMonth(month=m, department=dep, registered=n) for m, dep, n in d.by_department],
        peak_month=d.peak_month,
        peak_registered=d.peak_registered,
        total_registered=d.totals[0],
        total_processed=d.totals[1],
        total_still_open=d.totals[2],
    )


def satisfaction(s: Satisfaction) -> pb.ReasonSatisfaction:
    satisfied, partly, rejected = s.shares()
    return pb.ReasonSatisfaction(
        reason_code=s.code,
        reason_name=s.name,
        closed=s.closed,
        satisfied=s.satisfied,
        partly_satisfied=s.partly,
        rejected=s.rejected,
        satisfied_share=satisfied,
        partly_satisfied_share=partly,
        rejected_share=rejected,
        previous_closed=s.previous_closed,
        previous_satisfied_share=s.previous_share,
    )


def _entries(entries: list[Entry]) -> list[pb.StructureEntry]:
    return [pb.StructureEntry(key=e.key, label=e.label, claims=e.claims, previous_claims=e.previous) for e in entries]


def structure(s: Structure) -> pb.ClaimStructureResponse:
    return pb.ClaimStructureResponse(
        departments=_entries(s.departments),
        employees=_entries(s.employees),
        reasons=_entries(s.reasons),
        total=s.total,
        previous_total=s.previous_total,
    )
