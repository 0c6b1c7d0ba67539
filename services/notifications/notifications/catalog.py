"""Built-in templates: proposals, contracts, letters, reminders, SMS, debt notices and the
alerts staff get. A template saved under the same code and language replaces its text."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications.domain import Channel, Language


@dataclass(frozen=True)
class TemplateText:
    subject: str
    body: str


@dataclass(frozen=True)
class BuiltIn:
    code: str
    channel: Channel
    placeholders: frozenset[str]
    texts: dict[Language, TemplateText] = field(default_factory=dict)


UK, RU, EN = Language.UK, Language.RU, Language.EN
DAYS_UK = '{{ overdue_days }} {{ overdue_days|plural(one="день", few="дні", many="днів", other="дня") }}'
DAYS_RU = '{{ overdue_days }} {{ overdue_days|plural(one="день", few="дня", many="дней", other="дня") }}'
DAYS_EN = '{{ overdue_days }} {{ overdue_days|plural(one="day", other="days") }}'
INV_UK = '{{ invoices }} {{ invoices|plural(one="рахунком", few="рахунками", many="рахунками", other="рахунком") }}'
INV_RU = '{{ invoices }} {{ invoices|plural(one="счёту", few="счетам", many="счетам", other="счёту") }}'
INV_EN = '{{ invoices }} {{ invoices|plural(one="invoice", other="invoices") }}'


def _t(subject: str, body: str) -> TemplateText:
    return TemplateText(subject, body)


BUILT_IN: dict[str, BuiltIn] = {
    t.code: t
    for t in [
        BuiltIn(
            "proposal",
            Channel.EMAIL,
            frozenset({"partner_name", "title", "amount", "valid_until", "manager_name"}),
            {
                UK: _t(
                    "Комерційна пропозиція: {{ title }}",
                    "Шановні {{ partner_name }}!\n\nНадсилаємо комерційну пропозицію «{{ title }}» на суму "
                    "{{ amount|money }}. Пропозиція дійсна до {{ valid_until|date }}.\n\n"
                    "З повагою, {{ manager_name }}",
                ),
                RU: _t(
                    "Коммерческое предложение: {{ title }}",
                    "Уважаемые {{ partner_name }}!\n\nНаправляем коммерческое предложение «{{ title }}» на сумму "
                    "{{ amount|money }}. Предложение действительно до {{ valid_until|date }}.\n\n"
                    "С уважением, {{ manager_name }}",
                ),
                EN: _t(
                    "Proposal: {{ title }}",
                    "Dear {{ partner_name }},\n\nPlease find our proposal “{{ title }}” for {{ amount|money }}. "
                    "It is valid until {{ valid_until|date }}.\n\nKind regards, {{ manager_name }}",
                ),
            },
        ),
        BuiltIn(
            "contract",
            Channel.EMAIL,
            frozenset({"partner_name", "number", "signed_on", "manager_name"}),
            {
                UK: _t(
                    "Договір № {{ number }}",
                    "Шановні {{ partner_name }}!\n\nДоговір № {{ number }} від {{ signed_on|date }} підготовлено "
                    "до підписання.\n\nЗ повагою, {{ manager_name }}",
                ),
                RU: _t(
                    "Договор № {{ number }}",
                    "Уважаемые {{ partner_name }}!\n\nДоговор № {{ number }} от {{ signed_on|date }} подготовлен "
                    "к подписанию.\n\nС уважением, {{ manager_name }}",
                ),
                EN: _t(
                    "Contract No. {{ number }}",
                    "Dear {{ partner_name }},\n\nContract No. {{ number }} of {{ signed_on|date }} is ready "
                    "to be signed.\n\nKind regards, {{ manager_name }}",
                ),
            },
        ),
        BuiltIn(
            "letter",
            Channel.EMAIL,
            frozenset({"partner_name", "subject", "text"}),
            {
                UK: _t("{{ subject }}", "Шановні {{ partner_name }}!\n\n{{ text }}"),
                RU: _t("{{ subject }}", "Уважаемые {{ partner_name }}!\n\n{{ text }}"),
                EN: _t("{{ subject }}", "Dear {{ partner_name }},\n\n{{ text }}"),
            },
        ),
        BuiltIn(
            "reminder",
            Channel.EMAIL,
            frozenset({"title", "text", "due_at"}),
            {
                UK: _t(
                    "Нагадування: {{ title }}",
                    "{{ title }}\n{% if due_at %}{{ due_at|date('medium') }}{% endif %}\n\n{{ text }}",
                ),
                RU: _t(
                    "Напоминание: {{ title }}",
                    "{{ title }}\n{% if due_at %}{{ due_at|date('medium') }}{% endif %}\n\n{{ text }}",
                ),
                EN: _t(
                    "Reminder: {{ title }}",
                    "{{ title }}\n{% if due_at %}{{ due_at|date('medium') }}{% endif %}\n\n{{ text }}",
                ),
            },
        ),
        BuiltIn(
            "sms",
            Channel.SMS,
            frozenset({"partner_name", "text"}),
            {UK: _t("", "{{ text }}"), RU: _t("", "{{ text }}"), EN: _t("", "{{ text }}")},
        ),
        BuiltIn(
            "debt_email",
            Channel.EMAIL,
            frozenset({"partner_name", "overdue", "overdue_days", "invoices"}),
            {
                UK: _t(
                    "Нагадування про заборгованість {{ overdue|money }}",
                    "Шановні {{ partner_name }}!\n\nЗа " + INV_UK + " прострочено оплату на суму {{ overdue|money }}"
                    " (до " + DAYS_UK + "). Просимо погасити заборгованість найближчим часом.",
                ),
                RU: _t(
                    "Напоминание о задолженности {{ overdue|money }}",
                    "Уважаемые {{ partner_name }}!\n\nПо " + INV_RU + " просрочена оплата на сумму {{ overdue|money }}"
                    " (до " + DAYS_RU + "). Просим погасить задолженность в ближайшее время.",
                ),
                EN: _t(
                    "Overdue payment reminder: {{ overdue|money }}",
                    "Dear {{ partner_name }},\n\nPayment of {{ overdue|money }} for " + INV_EN + " is overdue "
                    "(up to " + DAYS_EN + "). Please settle it at your earliest convenience.",
                ),
            },
        ),
        BuiltIn(
            "debt_sms",
            Channel.SMS,
            frozenset({"partner_name", "overdue", "overdue_days", "invoices"}),
            {
                UK: _t("", "{{ partner_name }}: борг {{ overdue|money }}, прострочено " + DAYS_UK + "."),
                RU: _t("", "{{ partner_name }}: долг {{ overdue|money }}, просрочено " + DAYS_RU + "."),
                EN: _t("", "{{ partner_name }}: {{ overdue|money }} overdue by " + DAYS_EN + "."),
            },
        ),
        BuiltIn(
            "task_assigned",
            Channel.EMAIL,
            frozenset({"title", "author_id", "deadline"}),
            {
                UK: _t(
                    "Нове завдання: {{ title }}",
                    "Вам доручено: {{ title }}\n{% if deadline %}Термін: {{ deadline|date('medium') }}{% endif %}",
                ),
                RU: _t(
                    "Новая задача: {{ title }}",
                    "Вам поручено: {{ title }}\n{% if deadline %}Срок: {{ deadline|date('medium') }}{% endif %}",
                ),
                EN: _t(
                    "New task: {{ title }}",
                    "Assigned to you: {{ title }}\n{% if deadline %}Due: {{ deadline|date('medium') }}{% endif %}",
                ),
            },
        ),
        BuiltIn(
            "claim_registered",
            Channel.EMAIL,
            frozenset({"number", "reasons"}),
            {
                UK: _t("Зареєстровано рекламацію № {{ number }}", "Рекламація № {{ number }}: {{ reasons }}"),
                RU: _t("Зарегистрирована рекламация № {{ number }}", "Рекламация № {{ number }}: {{ reasons }}"),
                EN: _t("Claim No. {{ number }} registered", "Claim No. {{ number }}: {{ reasons }}"),
            },
        ),
        BuiltIn(
            "claim_closed",
            Channel.EMAIL,
            frozenset({"claim_id", "status", "result"}),
            {
                UK: _t("Рекламацію закрито: {{ status }}", "Рекламацію {{ claim_id }} закрито. {{ result }}"),
                RU: _t("Рекламация закрыта: {{ status }}", "Рекламация {{ claim_id }} закрыта. {{ result }}"),
                EN: _t("Claim closed: {{ status }}", "Claim {{ claim_id }} is closed. {{ result }}"),
            },
        ),
        BuiltIn(
            "deal_won",
            Channel.EMAIL,
            frozenset({"deal_id", "amount"}),
            {
                UK: _t("Угоду виграно: {{ amount|money }}", "Угоду {{ deal_id }} виграно на {{ amount|money }}."),
                RU: _t("Сделка выиграна: {{ amount|money }}", "Сделка {{ deal_id }} выиграна на {{ amount|money }}."),
                EN: _t("Deal won: {{ amount|money }}", "Deal {{ deal_id }} was won for {{ amount|money }}."),
            },
        ),
        BuiltIn(
            "deal_lost",
            Channel.EMAIL,
            frozenset({"deal_id", "reason"}),
            {
                UK: _t("Угоду програно", "Угоду {{ deal_id }} програно. Причина: {{ reason }}"),
                RU: _t("Сделка проиграна", "Сделка {{ deal_id }} проиграна. Причина: {{ reason }}"),
                EN: _t("Deal lost", "Deal {{ deal_id }} was lost. Reason: {{ reason }}"),
            },
        ),
    ]
}
