"""crm.interactions.v1.TasksService: decode, call the use case, encode."""

from __future__ import annotations

from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from grpc.aio import ServicerContext

from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, Violations
from crm_platform.ids import parse_id
from crm_platform.proto_codec import enum_out, timestamp_in, timestamp_out
from interactions import tasks
from interactions.codec import me, request_id, subject_in, subject_out
from interactions.domain import check_user, clean_text, zone
from interactions.models import TaskRow


def task_out(row: TaskRow) -> pb.Task:
    return pb.Task(
        id=str(row.id),
        request_id=row.request_id or "",
        title=row.title,
        description=row.description,
        author_id=row.author_id,
        performer_id=row.performer_id,
        checker_id=row.checker_id,
        deadline=timestamp_out(row.deadline),
        subject=subject_out(row.subject_service, row.subject_type, row.subject_id),
        state=enum_out(row.state, pb.TaskState, "TASK_STATE_"),
        comment=row.comment,
        created_at=timestamp_out(row.created_at),
        done_at=timestamp_out(row.done_at),
    )


_GROUPING = {
    pb.TASK_GROUPING_UNSPECIFIED: "deadline",
    pb.TASK_GROUPING_DEADLINE: "deadline",
    pb.TASK_GROUPING_AUTHOR: "author",
    pb.TASK_GROUPING_SUBJECT: "subject",
}


class TasksApi(pb_grpc.TasksServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def CreateTask(self, request: pb.CreateTaskRequest, context: ServicerContext) -> pb.Task:
        v = Violations()
        rid = request_id(request.request_id, v)
        title = clean_text(request.title, "title", v)
        performer = check_user(request.performer_id, "performer_id", v, required=True)
        checker = check_user(request.checker_id, "checker_id", v)
        deadline = timestamp_in(request.deadline, "deadline", required=False)
        subject = subject_in(request.subject, "subject", v) if request.HasField("subject") else None
        if len(request.description) > 20000:
            v.add("description", "longer than 20000 characters")
        v.raise_if_any()
        draft = tasks.TaskDraft(
            title=title,
            description=request.description.strip(),
            author_id=me(),
            performer_id=performer,
            checker_id=checker,
            deadline=deadline,
            subject=subject,
            request_id=rid,
        )
        return task_out(await tasks.create(self.db, draft))

    async def GetTask(self, request: pb.TaskRef, context: ServicerContext) -> pb.Task:
        return task_out(await tasks.get(self.db, parse_id(request.id, "id")))

    async def AcceptTask(self, request: pb.TaskRef, context: ServicerContext) -> pb.Task:
        return task_out(await tasks.accept(self.db, parse_id(request.id, "id"), me()))

    async def ForwardTask(self, request: pb.ForwardTaskRequest, context: ServicerContext) -> pb.Task:
        task_id = parse_id(request.id, "id")
        v = Violations()
        performer = check_user(request.performer_id, "performer_id", v, required=True)
        comment = request.comment.strip()[:4000]
        v.raise_if_any()
        return task_out(await tasks.forward(self.db, task_id, me(), performer, comment))

    async def CompleteTask(self, request: pb.CompleteTaskRequest, context: ServicerContext) -> pb.Task:
        task_id = parse_id(request.id, "id")
        return task_out(await tasks.complete(self.db, task_id, me(), request.comment.strip()[:4000]))

    async def CheckTask(self, request: pb.CheckTaskRequest, context: ServicerContext) -> pb.Task:
        task_id = parse_id(request.id, "id")
        comment = request.comment.strip()[:4000]
        if not request.accepted and not comment:
            raise InvalidArgument.single("comment", "say why the task is returned")
        return task_out(await tasks.check(self.db, task_id, me(), request.accepted, comment))

    async def ListTasks(self, request: pb.ListTasksRequest, context: ServicerContext) -> pb.ListTasksResponse:
        v = Violations()
        performer = check_user(request.performer_id, "performer_id", v)
        author = check_user(request.author_id, "author_id", v)
        grouping = _GROUPING.get(request.grouping)
        if grouping is None:
            v.add("grouping", f"unknown value {request.grouping}")
        v.raise_if_any()
        tz = zone(request.time_zone, "time_zone")
        if performer == "me" or (not performer and not author):
            performer = me()
        groups = await tasks.grouped(
            self.db,
            performer_id=performer,
            author_id=author,
            grouping=grouping or "deadline",
            tz=tz,
            include_closed=request.include_closed,
        )
        return pb.ListTasksResponse(
            groups=[pb.TaskGroup(key=key, tasks=[task_out(r) for r in rows]) for key, rows in groups]
        )
