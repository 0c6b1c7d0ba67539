"""Finding a template (saved text first, then the built-in one) and saving new texts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import Database
from crm_platform.errors import InvalidArgument, NotFound, Violations
from notifications.catalog import BUILT_IN
from notifications.domain import PLACEHOLDER_PATTERN, Channel, Language, check_code
from notifications.models import TemplateRow
from notifications.repository import TemplateRepository
from notifications.templating import Rendered, check_template, render

MAX_SUBJECT = 300
MAX_BODY = 20_000


@dataclass(frozen=True)
class Resolved:
    code: str
    channel: Channel
    placeholders: frozenset[str]
    language: Language
    subject: str
    body: str

    def render(self, values: Mapping[str, Any]) -> Rendered:
        return render(self.subject if self.channel is Channel.EMAIL else "", self.body, self.language, values)


async def resolve(session: AsyncSession, code: str, language: Language, field: str = "template_code") -> Resolved:
    """The text in the recipient's language, else Ukrainian, else any language there is."""
    saved = {Language(r.language): r for r in await TemplateRepository(session).for_code(code)}
    built_in = BUILT_IN.get(code)
    if not saved and built_in is None:
        raise NotFound(f"template {code!r} does not exist") if code else InvalidArgument.single(field, "is required")
    for lang in (language, Language.UK, *Language):
        if (row := saved.get(lang)) is not None:
            return Resolved(code, Channel(row.channel), frozenset(row.placeholders), lang, row.subject, row.body)
        if built_in is not None and (text := built_in.texts.get(lang)) is not None:
            return Resolved(code, built_in.channel, built_in.placeholders, lang, text.subject, text.body)
    raise NotFound(f"template {code!r} has no text")


@dataclass(frozen=True)
class TemplateDraft:
    code: str
    channel: Channel
    placeholders: list[str]
    language: Language
    subject: str
    body: str


def check_draft(draft: TemplateDraft) -> TemplateDraft:
    v = Violations()
    try:
        check_code(draft.code, "code")
    except InvalidArgument as exc:
        v.add("code", exc.violations[0].description)
    built_in = BUILT_IN.get(draft.code)
    if built_in is not None and draft.channel is not built_in.channel:
        v.add("channel", f"template {draft.code!r} is a {built_in.channel.value} template")
    for i, name in enumerate(draft.placeholders):
        if not PLACEHOLDER_PATTERN.match(name):
            v.add(f"placeholders[{i}]", "must be a lower-case identifier")
    if draft.channel is Channel.EMAIL and not draft.subject.strip():
        v.add("text.subject", "an e-mail template needs a subject")
    if len(draft.subject) > MAX_SUBJECT:
        v.add("text.subject", f"longer than {MAX_SUBJECT} characters")
    if not draft.body.strip():
        v.add("text.body", "must not be empty")
    elif len(draft.body) > MAX_BODY:
        v.add("text.body", f"longer than {MAX_BODY} characters")
    v.raise_if_any()
    allowed = set(draft.placeholders) or set(built_in.placeholders if built_in else ())
    check_template(draft.subject, allowed, "text.subject")
    check_template(draft.body, allowed, "text.body")
    return TemplateDraft(draft.code, draft.channel, sorted(allowed), draft.language, draft.subject, draft.body)


async def save_template(db: Database, draft: TemplateDraft) -> list[TemplateRow]:
    clean = check_draft(draft)
    async with db.transaction() as session:
        repo = TemplateRepository(session)
        await repo.save(
            TemplateRow(
                code=clean.code,
                language=clean.language.value,
                channel=clean.channel.value,
                placeholders=clean.placeholders,
                subject=clean.subject,
                body=clean.body,
            )
        )
        return await repo.for_code(clean.code)
