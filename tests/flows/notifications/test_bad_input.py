"""Bad input to every RPC is INVALID_ARGUMENT naming the field; broken rules are FAILED_PRECONDITION."""

from __future__ import annotations

import uuid

import grpc
import pytest
from crm.common.v1 import common_pb2
from crm.notifications.v1 import notifications_pb2 as pb
from crm.notifications.v1 import notifications_pb2_grpc as pb_grpc

from crm_platform.grpc_errors import field_violations
from crm_platform.testing import auth

from .conftest import Notifications

pytestmark = pytest.mark.flow

EMAIL_TEXT = pb.TemplateText(language=pb.LANGUAGE_UK, subject="Вітання", body="Шановні {{ partner_name }}!")


def rid() -> str:
    return str(uuid.uuid4())


CASES = [
    (
        "SaveTemplate",
        pb.SaveTemplateRequest(
            code="greeting",
            channel=pb.CHANNEL_EMAIL,
            placeholders=["partner_name"],
            text=pb.TemplateText(language=pb.LANGUAGE_UK, subject="Вітання", body="{{ partner_name }}: {{ bonus }}"),
        ),
        "text.body",
        "unknown placeholder 'bonus'",
    ),
    (
        "SaveTemplate",
        pb.SaveTemplateRequest(
            code="greeting",
            channel=pb.CHANNEL_EMAIL,
            placeholders=["partner_name"],
            text=pb.TemplateText(language=pb.LANGUAGE_UK, subject="x", body="{{ ''.__class__.__mro__ }}"),
        ),
        "text.body",
        "not allowed",
    ),
    (
        "SaveTemplate",
        pb.SaveTemplateRequest(code="Bad Code!", channel=pb.CHANNEL_EMAIL, text=EMAIL_TEXT),
        "code",
        "a-z",
    ),
    ("SaveTemplate", pb.SaveTemplateRequest(code="greeting", text=EMAIL_TEXT), "channel", "CHANNEL_UNSPECIFIED"),
    (
        "SaveTemplate",
        pb.SaveTemplateRequest(code="greeting", channel=pb.CHANNEL_EMAIL, text=pb.TemplateText(subject="x", body="y")),
        "text.language",
        "LANGUAGE_UNSPECIFIED",
    ),
    (
        "PreviewMessage",
        pb.PreviewMessageRequest(template_code="proposal", variables={"partner_name": "x"}),
        "variables.amount",
        "no value",
    ),
    (
        "PreviewMessage",
        pb.PreviewMessageRequest(template_code="letter", variables={"amount": "12.5 XYZ"}),
        "variables.amount",
        "currency",
    ),
    (
        "SendMessage",
        pb.SendMessageRequest(request_id=rid(), channel=pb.CHANNEL_EMAIL, recipient="olena@", template_code="letter"),
        "recipient",
        "e-mail",
    ),
    (
        "SendMessage",
        pb.SendMessageRequest(request_id=rid(), channel=pb.CHANNEL_SMS, recipient="12-34", template_code="sms"),
        "recipient",
        "phone",
    ),
    (
        "SendMessage",
        pb.SendMessageRequest(channel=pb.CHANNEL_SMS, recipient="+380671234567", template_code="sms"),
        "request_id",
        "required",
    ),
    (
        "SendMessage",
        pb.SendMessageRequest(
            request_id=rid(),
            channel=pb.CHANNEL_SMS,
            recipient="+380671234567",
            template_code="letter",
            variables={"partner_name": "x", "subject": "x", "text": "x"},
        ),
        "template_code",
        "email template",
    ),
    ("GetMessage", pb.GetMessageRequest(id="42"), "id", "UUID"),
    (
        "CreateCampaign",
        pb.CreateCampaignRequest(request_id=rid(), name="Порожня", channel=pb.CHANNEL_EMAIL, template_code="letter"),
        "selection",
        "at least one",
    ),
    (
        "CreateCampaign",
        pb.CreateCampaignRequest(
            request_id=rid(),
            name="Нікому",
            channel=pb.CHANNEL_EMAIL,
            template_code="letter",
            selection=pb.Selection(segments=[f"Немає такого {uuid.uuid4()}"]),
            variables={"subject": "x", "text": "y"},
        ),
        "selection",
        "matches no partner",
    ),
    (
        "CreateCampaign",
        pb.CreateCampaignRequest(
            request_id=rid(),
            name="x",
            channel=pb.CHANNEL_EMAIL,
            template_code="letter",
            selection=pb.Selection(abc_classes=["D"]),
        ),
        "selection.abc_classes[0]",
        "A, B or C",
    ),
    ("GetCampaign", pb.GetCampaignRequest(id="nope"), "id", "UUID"),
    ("PauseCampaign", pb.CampaignActionRequest(id=""), "id", "UUID"),
    (
        "ListCampaignMessages",
        pb.ListCampaignMessagesRequest(campaign_id=str(uuid.uuid4()), page=common_pb2.PageRequest(page_size=501)),
        "page.page_size",
        "between",
    ),
    (
        "PreviewDebtNotices",
        pb.PreviewDebtNoticesRequest(filter=pb.DebtorFilter(as_of="23.11.2026"), channel=pb.CHANNEL_EMAIL),
        "filter.as_of",
        "YYYY-MM-DD",
    ),
    (
        "PreviewDebtNotices",
        pb.PreviewDebtNoticesRequest(
            filter=pb.DebtorFilter(min_amount=common_pb2.Money(amount="-5", currency="UAH")), channel=pb.CHANNEL_EMAIL
        ),
        "filter.min_amount.amount",
        "negative",
    ),
    (
        "SendDebtNotices",
        pb.SendDebtNoticesRequest(
            request_id=rid(), filter=pb.DebtorFilter(min_overdue_days=-1), channel=pb.CHANNEL_SMS
        ),
        "filter.min_overdue_days",
        "between",
    ),
    (
        "SetPartnerLanguage",
        pb.SetPartnerLanguageRequest(partner_id=str(uuid.uuid4())),
        "language",
        "LANGUAGE_UNSPECIFIED",
    ),
    ("SaveUser", pb.SaveUserRequest(user=pb.User(user_id="ivan", email="ivan@@x")), "user.email", "e-mail"),
    ("SaveUser", pb.SaveUserRequest(user=pb.User(user_id="ivan")), "user.email", "e-mail or a phone"),
    ("SaveUser", pb.SaveUserRequest(user=pb.User(user_id="", phone="067 123 45 67")), "user.user_id", "1-120"),
    ("GetUser", pb.GetUserRequest(), "user_id", "required"),
]


@pytest.mark.parametrize(("method", "request_", "field", "reason"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
async def test_bad_input_is_invalid_argument_naming_the_field(
    notifications: Notifications, method: str, request_: object, field: str, reason: str
) -> None:
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await getattr(stub, method)(request_, metadata=auth("head"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    violations = field_violations(caught.value)
    assert field in violations, violations
    assert reason in violations[field]


async def test_unknown_things_are_not_found(notifications: Notifications) -> None:
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        for call in (
            stub.GetCampaign(pb.GetCampaignRequest(id=str(uuid.uuid4())), metadata=auth()),
            stub.GetMessage(pb.GetMessageRequest(id=str(uuid.uuid4())), metadata=auth()),
            stub.GetUser(pb.GetUserRequest(user_id="nobody"), metadata=auth()),
            stub.PreviewMessage(pb.PreviewMessageRequest(template_code="no_such_template"), metadata=auth()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_saved_template_is_used_in_its_language(notifications: Notifications) -> None:
    code = f"greeting_{uuid.uuid4().hex[:6]}"
    async with grpc.aio.insecure_channel(notifications.address) as channel:
        stub = pb_grpc.NotificationsServiceStub(channel)
        for language, body in (
            (pb.LANGUAGE_UK, "Вітаємо, {{ partner_name }}!"),
            (pb.LANGUAGE_RU, "Приветствуем, {{ partner_name }}!"),
        ):
            saved = await stub.SaveTemplate(
                pb.SaveTemplateRequest(
                    code=code,
                    channel=pb.CHANNEL_EMAIL,
                    placeholders=["partner_name"],
                    text=pb.TemplateText(language=language, subject="Вітання", body=body),
                ),
                metadata=auth("head"),
            )
        assert len(saved.texts) == 2
        ru = await stub.PreviewMessage(
            pb.PreviewMessageRequest(
                template_code=code, language=pb.LANGUAGE_RU, variables={"partner_name": "ООО «Альфа»"}
            ),
            metadata=auth("manager"),
        )
        en = await stub.PreviewMessage(
            pb.PreviewMessageRequest(template_code=code, language=pb.LANGUAGE_EN, variables={"partner_name": "Alpha"}),
            metadata=auth("manager"),
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SaveTemplate(
                pb.SaveTemplateRequest(code=code, channel=pb.CHANNEL_EMAIL, text=EMAIL_TEXT), metadata=auth("manager")
            )
    assert ru.body == "Приветствуем, ООО «Альфа»!"
    assert (en.body, en.language) == ("Вітаємо, Alpha!", pb.LANGUAGE_UK)  # no English text: Ukrainian
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # templates are the head's to change
