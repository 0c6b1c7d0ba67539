"""Partners' validation rules, without I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_platform.errors import InvalidArgument
from partners.domain import Contact, ContactKind, PartnerRole, validate_partner


def partner(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "name": "ТОВ «Ромашка»",
        "roles": [PartnerRole.CLIENT],
        "manager_id": "olena",
        "segment": "",
        "region": "",
        "tags": [],
        "source": "",
        "contacts": [],
        "default_phone_region": "UA",
    }
    fields.update(overrides)
    return fields


def violations(**overrides: object) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_partner(**partner(**overrides))  # type: ignore[arg-type]
    return {v.field: v.description for v in caught.value.violations}


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("067 123 45 67", "UA", "+380671234567"),
        ("+38 (044) 235-17-80", "UA", "+380442351780"),
        ("8 (812) 555-12-34", "RU", "+78125551234"),
        ("+7 495 123-45-67", "UA", "+74951234567"),
    ],
)
def test_phones_are_stored_in_e164(written: str, region: str, e164: str) -> None:
    data = validate_partner(**partner(contacts=[Contact(ContactKind.PHONE, written)], default_phone_region=region))  # type: ignore[arg-type]
    assert data.contacts[0].value == e164


def test_name_is_trimmed_and_keeps_its_spelling() -> None:
    data = validate_partner(**partner(name="  ТОВ   «Зоря»  "))  # type: ignore[arg-type]
    assert data.name == "ТОВ «Зоря»"
    assert data.name_folded == "тов «зоря»"
    assert data.name_latin == "tov «zorya»" or data.name_latin.startswith("tov")


def test_roles_default_to_client_and_repeat_once() -> None:
    assert validate_partner(**partner(roles=[])).roles == (PartnerRole.CLIENT,)  # type: ignore[arg-type]
    data = validate_partner(**partner(roles=[PartnerRole.DEALER, PartnerRole.DEALER, PartnerRole.CLIENT]))  # type: ignore[arg-type]
    assert data.roles == (PartnerRole.DEALER, PartnerRole.CLIENT)


def test_every_bad_field_is_named() -> None:
    found = violations(
        name="",
        tags=["ok", ""],
        contacts=[Contact(ContactKind.EMAIL, "not-an-email"), Contact(ContactKind.WEB, " ")],
        manager_id="m" * 200,
    )
    assert set(found) == {
        "partner.name",
        "partner.tags[1]",
        "partner.contacts[0].value",
        "partner.contacts[1].value",
        "partner.manager_id",
    }


def test_oversize_name_is_refused() -> None:
    assert "longer than 300" in violations(name="Я" * 301)["partner.name"]


@given(st.text(alphabet=st.characters(whitelist_categories=("Nd",)), min_size=1, max_size=3))
def test_too_short_digit_strings_are_never_phones(digits: str) -> None:
    assert "partner.contacts[0].value" in violations(contacts=[Contact(ContactKind.PHONE, digits)])
