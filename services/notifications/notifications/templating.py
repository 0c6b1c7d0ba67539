"""Rendering templates in Jinja2's sandbox, strict about placeholders, with money, dates
and plural forms per the recipient's locale (Babel)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from crm_platform.errors import FieldViolation, InvalidArgument
from crm_platform.money import Money, check_currency, parse_decimal
from notifications.domain import Language

LOCALES = {Language.UK: "uk_UA", Language.RU: "ru_UA", Language.EN: "en_GB"}
MONEY_TEXT = re.compile(r"^(-?\d+(?:\.\d+)?) ([A-Za-z]{3})$")
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_TEXT = re.compile(r"^-?\d{1,12}$")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def _environment(language: Language) -> SandboxedEnvironment:
    locale = LOCALES[language]
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

    def money(value: Any) -> str:
        if isinstance(value, Money):
            return format_currency(value.amount, value.currency, locale=locale)
        if isinstance(value, Decimal | int):
            return format_decimal(value, locale=locale)
        raise SecurityError(f"money needs an amount with a currency, got {value!r}")

    def date_filter(value: Any, style: str = "long") -> str:
        if isinstance(value, datetime):
            return format_datetime(
                value, format=style if style in {"short", "medium", "long"} else "long", locale=locale
            )
        if isinstance(value, date):
            return format_date(value, format=style if style in {"short", "medium", "long"} else "long", locale=locale)
        raise SecurityError(f"date needs a date, got {value!r}")

    def plural(value: Any, **forms: str) -> str:
        """{{ n|plural(one="день", few="дні", many="днів", other="дня") }}: the CLDR form for n."""
        category = Locale.parse(locale).plural_form(abs(int(value)))
        return forms.get(category) or forms.get("other") or forms.get("many") or ""

    def number(value: Any) -> str:
        return format_decimal(value, locale=locale)

    env.filters.update(money=money, date=date_filter, plural=plural, number=number)
    return env


@lru_cache(maxsize=8)
def environment(language: Language) -> SandboxedEnvironment:
    return _environment(language)


def coerce(values: Mapping[str, str]) -> dict[str, Any]:
    """Wire values (strings) to what filters take: "1250.00 UAH" → Money, "2026-11-23" → date, "7" → 7."""
    out: dict[str, Any] = {}
    for name, raw in values.items():
        text = raw.strip()
        if (found := MONEY_TEXT.match(text)) is not None:
            field = f"variables.{name}"
            out[name] = Money(parse_decimal(found[1], field, allow_negative=True), check_currency(found[2], field))
        elif DATE_TEXT.match(text):
            try:
                out[name] = date.fromisoformat(text)
            except ValueError:
                raise InvalidArgument.single(f"variables.{name}", f"not a date: {text!r}") from None
        elif INT_TEXT.match(text):
            out[name] = int(text)
        else:
            out[name] = raw
    return out


def placeholders_of(source: str, field: str) -> set[str]:
    """The variables a template reads; refuses syntax errors and any reach for '_' attributes."""
    found = _placeholders(source)
    if isinstance(found, InvalidArgument):
        raise InvalidArgument.single(field, found.violations[0].description)
    return set(found)


@lru_cache(maxsize=512)
def _placeholders(source: str) -> frozenset[str] | InvalidArgument:
    env = environment(Language.UK)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return InvalidArgument.single("", f"template syntax error on line {exc.lineno}: {exc.message}")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(attr, str) and attr.startswith("_"):
            return InvalidArgument.single("", f"access to internal attribute {attr!r} is not allowed")
    return frozenset(meta.find_undeclared_variables(tree))


@lru_cache(maxsize=512)
def _compiled(source: str, language: Language) -> Template:
    return environment(language).from_string(source)


def check_template(text: str, allowed: set[str], field: str) -> None:
    unknown = sorted(placeholders_of(text, field) - allowed)
    if unknown:
        raise InvalidArgument.single(field, f"unknown placeholder {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def render_text(source: str, language: Language, values: Mapping[str, Any], field: str) -> str:
    needed = placeholders_of(source, field)
    missing = sorted(needed - set(values))
    if missing:
        raise InvalidArgument([FieldViolation(f"variables.{m}", f"no value for placeholder {m!r}") for m in missing])
    try:
        return _compiled(source, language).render(**values).strip()
    except SecurityError as exc:
        raise InvalidArgument.single(field, f"template not allowed: {exc}") from None
    except UndefinedError as exc:
        raise InvalidArgument.single(field, f"template refers to something undefined: {exc}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidArgument.single(field, f"cannot render: {exc}") from None


def render(subject: str, body: str, language: Language, values: Mapping[str, Any]) -> Rendered:
    missing = sorted((placeholders_of(subject, "text.subject") | placeholders_of(body, "text.body")) - set(values))
    if missing:  # every missing value at once, not one per call
        raise InvalidArgument([FieldViolation(f"variables.{m}", f"no value for placeholder {m!r}") for m in missing])
    return Rendered(
        subject=render_text(subject, language, values, "text.subject") if subject else "",
        body=render_text(body, language, values, "text.body"),
    )
