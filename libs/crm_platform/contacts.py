"""Phone numbers (E.164, via phonenumbers) and e-mail addresses (via email-validator)."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_platform.errors import InvalidArgument


def normalize_phone(value: str, field: str, default_region: str = "UA") -> str:
    """E.164 form of a phone as people write it: '067 123-45-67', '+38 (044) 123 45 67'."""
    text = (value or "").strip()
    if not text:
        raise InvalidArgument.single(field, "phone is empty")
    if len(text) > 40:
        raise InvalidArgument.single(field, "phone is longer than 40 characters")
    try:
        number = phonenumbers.parse(text, (default_region or "UA").upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidArgument.single(field, f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidArgument.single(field, f"not a valid phone number: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str, field: str) -> str:
    """The normalised address (domain lower-cased, IDN to Unicode); syntax only, no DNS."""
    text = (value or "").strip()
    if not text:
        raise InvalidArgument.single(field, "e-mail is empty")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidArgument.single(field, f"not a valid e-mail: {exc}") from None
    return result.normalized
