"""Tasks (by hand and by command events of other services) and reminders that fire once:
with two replicas, and after being due while the service was stopped."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from aiokafka import AIOKafkaProducer
from crm.interactions.v1 import interactions_pb2 as pb
from crm.interactions.v1 import interactions_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.events import Envelope
from crm_platform.grpc_errors import field_violations
from crm_platform.localrun import ServiceProcess
from crm_platform.testing import KafkaProbe, Services, auth, header
from interactions.events import SubjectRef, TaskRequested

from .conftest import as_user

pytestmark = pytest.mark.flow
TASKS = "crm.interactions.task.v1"


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def _held(
    task_api: pb_grpc.TasksServiceStub, user: tuple[tuple[str, str], ...], request_id: str
) -> list[pb.Task]:
    """The performer's tasks made for request_id, once the command has been handled."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        everything = await task_api.ListTasks(pb.ListTasksRequest(include_closed=True), metadata=user)
        held = [t for g in everything.groups for t in g.tasks if t.request_id == request_id]
        if held or asyncio.get_running_loop().time() > deadline:
            await asyncio.sleep(1.0)  # let any duplicate handling show up too
            everything = await task_api.ListTasks(pb.ListTasksRequest(include_closed=True), metadata=user)
            return [t for g in everything.groups for t in g.tasks if t.request_id == request_id]
        await asyncio.sleep(0.2)


async def test_a_task_request_is_done_once_and_answered_with_its_request_id(
    interactions: ServiceProcess, kafka_producer: AIOKafkaProducer, task_api: pb_grpc.TasksServiceStub
) -> None:
    claim_id = uuid.uuid4()
    request_id = f"claims:{claim_id}:lab-test"
    command = TaskRequested(
        request_id=request_id,
        requested_by="claims",
        title="Лабораторний аналіз зразка насіння",
        description="Партія № 4471, схожість нижче заявленої",
        author_id="svitlana.hnatiuk",
        performer_id="andriy.moroz",
        checker_id="svitlana.hnatiuk",
        deadline=datetime.now(UTC) + timedelta(days=3),
        subject=SubjectRef(service="claims", type="claim", id=str(claim_id)),
    )
    async with KafkaProbe(TASKS) as probe:
        for _ in range(3):  # re-sent commands: new event ids, the same request_id
            envelope = Envelope.wrap(command, source="crm/claims")
            headers = [(k, v.encode()) for k, v in envelope.headers().items()]
            await kafka_producer.send_and_wait(command.TOPIC, envelope.data, key=request_id.encode(), headers=headers)
        andriy, svitlana = as_user("andriy.moroz"), as_user("svitlana.hnatiuk")
        held = await _held(task_api, andriy, request_id)
        assert len(held) == 1
        task_id = held[0].id
        await probe.wait_for(lambda r: r.key == task_id.encode())
        seen = await probe.collect(2.0)
    # Other test sessions' interactions processes may answer the same command from their own
    # databases; this service answered once.
    answers = [r for r in seen if r.key == task_id.encode()]
    assert len(answers) == 1
    assert header(answers[0], "ce_type") == "crm.interactions.task.assigned"
    assert json.loads(answers[0].value)["request_id"] == request_id

    mine = await task_api.ListTasks(pb.ListTasksRequest(), metadata=andriy)
    groups = {t.id: g.key for g in mine.groups for t in g.tasks}
    assert groups[task_id] in ("this_week", "later")  # three days ahead
    by_subject = await task_api.ListTasks(pb.ListTasksRequest(grouping=pb.TASK_GROUPING_SUBJECT), metadata=andriy)
    assert task_id in [t.id for g in by_subject.groups if g.key == f"claims/claim/{claim_id}" for t in g.tasks]
    with pytest.raises(grpc.aio.AioRpcError) as not_held:
        await task_api.ForwardTask(pb.ForwardTaskRequest(id=task_id, performer_id="petro"), metadata=svitlana)
    assert not_held.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "do not hold" in (not_held.value.details() or "")

    async with KafkaProbe(TASKS) as probe:
        await task_api.AcceptTask(pb.TaskRef(id=task_id), metadata=andriy)
        await task_api.CompleteTask(pb.CompleteTaskRequest(id=task_id, comment="Схожість 71%"), metadata=andriy)
        with pytest.raises(grpc.aio.AioRpcError) as no_reason:
            await task_api.CheckTask(pb.CheckTaskRequest(id=task_id, accepted=False), metadata=svitlana)
        checked = await task_api.CheckTask(
            pb.CheckTaskRequest(id=task_id, accepted=True, comment="Дякую"), metadata=svitlana
        )
        done = await probe.wait_for(
            lambda r: (
                header(r, "ce_type") == "crm.interactions.task.checked" and json.loads(r.value)["task_id"] == task_id
            )
        )
    assert field_violations(no_reason.value) == {"comment": "say why the task is returned"}
    assert checked.state == pb.TASK_STATE_CHECKED
    assert json.loads(done.value)["request_id"] == request_id
    assert json.loads(done.value)["accepted"] is True


async def test_tasks_by_hand_grouped_by_deadline_author_and_subject(task_api: pb_grpc.TasksServiceStub) -> None:
    boss, worker = f"head.{uuid.uuid4().hex[:5]}", f"mgr.{uuid.uuid4().hex[:5]}"
    now = datetime.now(UTC)
    for title, deadline in (
        ("Підготувати КП для ТОВ «Колос»", now - timedelta(hours=2)),
        ("Зателефонувати в ФГ «Надія»", now + timedelta(days=40)),
        ("Оновити прайс", None),
    ):
        await task_api.CreateTask(
            pb.CreateTaskRequest(
                request_id=str(uuid.uuid4()),
                title=title,
                performer_id=worker,
                deadline=ts(deadline) if deadline else None,
            ),
            metadata=as_user(boss),
        )
    by_deadline = await task_api.ListTasks(pb.ListTasksRequest(performer_id="me"), metadata=as_user(worker))
    assert [g.key for g in by_deadline.groups] == ["overdue", "later", "no_deadline"]
    by_author = await task_api.ListTasks(
        pb.ListTasksRequest(grouping=pb.TASK_GROUPING_AUTHOR), metadata=as_user(worker)
    )
    assert [(g.key, len(g.tasks)) for g in by_author.groups] == [(boss, 3)]
    given = await task_api.ListTasks(pb.ListTasksRequest(author_id=boss), metadata=as_user(boss))
    assert sum(len(g.tasks) for g in given.groups) == 3
    for request, field in (
        (pb.CreateTaskRequest(title="Без виконавця"), "performer_id"),
        (pb.CreateTaskRequest(title=" ", performer_id="x"), "title"),
        (
            pb.CreateTaskRequest(title="T", performer_id="x", subject=pb.Subject(service="claims", type="x", id="1")),
            "subject.type",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await task_api.CreateTask(request, metadata=auth())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(caught.value)
    with pytest.raises(grpc.aio.AioRpcError) as zone:
        await task_api.ListTasks(pb.ListTasksRequest(time_zone="Kyiv/Podil"), metadata=auth())
    assert "time_zone" in field_violations(zone.value)


async def _note(address: str, title: str, due: datetime) -> pb.Note:
    async with grpc.aio.insecure_channel(address) as channel:
        return await pb_grpc.InteractionsServiceStub(channel).CreateNote(
            pb.CreateNoteRequest(
                request_id=str(uuid.uuid4()),
                title=title,
                text="Нагадати про оплату рахунку № 1187",
                remind_at=ts(due),
            ),
            metadata=as_user("olena.kovalenko"),
        )


def _reminders(records: list, title: str) -> list:  # type: ignore[type-arg]
    return [
        r
        for r in records
        if header(r, "ce_type") == "crm.interactions.reminder.due" and json.loads(r.value)["title"] == title
    ]


async def test_reminders_fire_once_with_two_replicas_and_after_a_stop(services: Services, run_id: str) -> None:
    env = {"CRM_KAFKA_GROUP_ID": f"interactions-reminders-{run_id}", "CRM_REMINDER_POLL_SECONDS": "0.2"}
    first = await services.start("interactions", instance="-rem-1", database="interactions_rem", env=env)
    second = await services.start("interactions", instance="-rem-2", database="interactions_rem", env=env)

    together = f"Дзвінок ТОВ «Полісся» {uuid.uuid4().hex[:4]}"
    async with KafkaProbe(TASKS) as probe:
        await _note(first.address, together, datetime.now(UTC) + timedelta(seconds=2))
        await probe.wait_for(lambda r: bool(_reminders([r], together)), timeout=20)
        fired = _reminders(await probe.collect(3.0), together)
    assert len(fired) == 1

    while_down = f"Зустріч у ФГ «Злагода» {uuid.uuid4().hex[:4]}"
    async with KafkaProbe(TASKS) as probe:
        await _note(second.address, while_down, datetime.now(UTC) + timedelta(seconds=4))
        await asyncio.gather(asyncio.to_thread(first.stop, 15.0), asyncio.to_thread(second.stop, 15.0))
        await asyncio.sleep(6)
        assert _reminders(await probe.collect(0.5), while_down) == []
        first.start()
        await asyncio.to_thread(first.wait_serving, 90.0)
        await probe.wait_for(lambda r: bool(_reminders([r], while_down)), timeout=30)
        fired = _reminders(await probe.collect(3.0), while_down)
    assert len(fired) == 1
    body = json.loads(fired[0].value)
    assert body["user_id"] == "olena.kovalenko"
    assert datetime.fromisoformat(body["due_at"]) < datetime.now(UTC)


async def test_notes_on_a_subject_with_their_reminders(api: pb_grpc.InteractionsServiceStub) -> None:
    user = as_user(f"nadia.{uuid.uuid4().hex[:5]}")
    due = datetime.now(UTC) + timedelta(days=1)
    rid = str(uuid.uuid4())
    note = await api.CreateNote(
        pb.CreateNoteRequest(request_id=rid, title="Підготувати акт звірки", text="За III квартал", remind_at=ts(due)),
        metadata=user,
    )
    again = await api.CreateNote(pb.CreateNoteRequest(request_id=rid, title="Підготувати акт звірки"), metadata=user)
    plain = await api.CreateNote(pb.CreateNoteRequest(title="Ідея для акції"), metadata=user)
    listed = await api.ListNotes(pb.ListNotesRequest(), metadata=user)
    assert again.id == note.id
    assert [n.id for n in listed.notes] == [plain.id, note.id]
    assert listed.notes[1].remind_at.seconds == int(due.timestamp())
    assert not listed.notes[1].HasField("reminded_at") or listed.notes[1].reminded_at.seconds == 0
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await api.CreateNote(
            pb.CreateNoteRequest(title="Т", subject=pb.Subject(service="claims", type="claim", id=str(uuid.uuid4()))),
            metadata=user,
        )
    assert unknown.value.code() == grpc.StatusCode.FAILED_PRECONDITION
