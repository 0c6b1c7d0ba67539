"""Templates as recipients see them: their language, money, dates and plural forms, and the
errors a template author gets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm_platform.errors import InvalidArgument
from crm_platform.money import Money
from notifications.catalog import BUILT_IN
from notifications.domain import Channel, Language
from notifications.templates import TemplateDraft, check_draft
from notifications.templating import coerce, render, render_text


def debt_text(language: Language, days: int, amount: str = "12500.5") -> str:
    template = BUILT_IN["debt_email"].texts[language]
    values = {
        "partner_name": "ТОВ «Зоря Агро»",
        "overdue": Money(Decimal(amount), "UAH"),
        "overdue_days": days,
        "invoices": 2,
    }
    return render(template.subject, template.body, language, values).body


@pytest.mark.parametrize(
    ("language", "days", "expected"),
    [
        (Language.UK, 1, "1 день"),
        (Language.UK, 3, "3 дні"),
        (Language.UK, 5, "5 днів"),
        (Language.UK, 21, "21 день"),
        (Language.RU, 2, "2 дня"),
        (Language.RU, 11, "11 дней"),
        (Language.EN, 1, "1 day"),
        (Language.EN, 7, "7 days"),
    ],
)
def test_plural_forms_follow_the_recipients_language(language: Language, days: int, expected: str) -> None:
    assert expected in debt_text(language, days)


def test_money_is_formatted_per_locale() -> None:
    assert "12 500,50" in debt_text(Language.UK, 3).replace("\xa0", " ").replace("\u202f", " ")
    assert "₴" in debt_text(Language.UK, 3) or "грн" in debt_text(Language.UK, 3)
    assert "UAH12,500.50" in debt_text(Language.EN, 3).replace("\xa0", "")


def test_dates_are_written_per_locale() -> None:
    values = {"d": date(2026, 3, 8)}
    assert render_text("{{ d|date }}", Language.UK, values, "body") == "8 березня 2026\u202fр."
    assert render_text("{{ d|date }}", Language.EN, values, "body") == "8 March 2026"


def test_wire_values_become_money_dates_and_numbers() -> None:
    values = coerce({"amount": "1250.00 UAH", "on": "2026-11-23", "n": "7", "name": "Олена"})
    assert values == {"amount": Money(Decimal("1250.00"), "UAH"), "on": date(2026, 11, 23), "n": 7, "name": "Олена"}


def test_a_missing_value_names_the_placeholder() -> None:
    with pytest.raises(InvalidArgument) as caught:
        render_text("Шановні {{ partner_name }}, борг {{ debt }}", Language.UK, {"partner_name": "x"}, "text.body")
    assert caught.value.violations[0].field == "variables.debt"


def draft(body: str, placeholders: list[str] | None = None) -> TemplateDraft:
    return TemplateDraft("greeting", Channel.EMAIL, placeholders or ["partner_name"], Language.UK, "Вітання", body)


def test_a_template_with_an_unknown_placeholder_is_refused_naming_it() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_draft(draft("Шановні {{ partner_name }}! Ваш бонус: {{ bonus }}"))
    assert caught.value.violations[0].field == "text.body"
    assert "'bonus'" in caught.value.violations[0].description


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ partner_name['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_a_template_reaching_python_internals_is_refused(body: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_draft(draft(body))
    assert (
        "not allowed" in caught.value.violations[0].description
        or "unknown placeholder" in caught.value.violations[0].description
    )


def test_the_sandbox_refuses_internals_even_when_built_at_runtime() -> None:
    with pytest.raises(InvalidArgument) as caught:
        render_text("{{ name|attr('__cla' ~ 'ss__') }}", Language.UK, {"name": "x"}, "text.body")
    assert caught.value.violations[0].field == "text.body"


def test_every_built_in_template_renders_in_every_language() -> None:
    samples = {
        "partner_name": "ТОВ «Зоря»",
        "title": "Насіння",
        "amount": Money(Decimal("10"), "UAH"),
        "valid_until": date(2026, 12, 1),
        "manager_name": "Олена Коваленко",
        "number": "17",
        "signed_on": date(2026, 12, 1),
        "subject": "Тема",
        "text": "Текст",
        "due_at": date(2026, 12, 1),
        "overdue": Money(Decimal("10"), "UAH"),
        "overdue_days": 3,
        "invoices": 1,
        "author_id": "ivan",
        "deadline": date(2026, 12, 1),
        "reasons": "брак",
        "claim_id": "c-1",
        "status": "satisfied",
        "result": "ok",
        "deal_id": "d-1",
        "reason": "ціна",
    }
    for template in BUILT_IN.values():
        for language, text in template.texts.items():
            assert render(text.subject, text.body, language, samples).body, (template.code, language)
