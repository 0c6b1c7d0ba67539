"""Notifications' pure rules: SMS sizes, signed unsubscribe links, backoff."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from notifications.domain import Channel, OptOutToken, retry_delay, sign_opt_out, sms_size, verify_opt_out

SECRET = b"test-secret-of-reasonable-length"


def test_latin_sms_is_gsm7_with_160_characters_in_one_segment() -> None:
    assert sms_size("A" * 160).segments == 1
    assert sms_size("A" * 161) == sms_size("A" * 161).__class__("GSM-7", 161, 2)
    assert sms_size("A" * 306).segments == 2
    assert sms_size("A" * 307).segments == 3


def test_gsm7_extension_characters_take_two_septets() -> None:
    assert sms_size("€" * 80).length == 160
    assert sms_size("€" * 81).segments == 2


def test_cyrillic_sms_is_ucs2_with_70_characters_in_one_segment() -> None:
    text = "Борг 1 250,00 грн, прострочено 5 днів."
    assert sms_size(text).encoding == "UCS-2"
    assert sms_size("ї" * 70).segments == 1
    assert sms_size("ї" * 71).segments == 2
    assert sms_size("ї" * 134).segments == 2
    assert sms_size("ї" * 135).segments == 3


@given(st.text(max_size=400))
def test_segments_always_hold_the_text(text: str) -> None:
    size = sms_size(text)
    per_segment = (
        (160 if size.encoding == "GSM-7" else 70) if size.segments <= 1 else (153 if size.encoding == "GSM-7" else 67)
    )
    assert size.segments * per_segment >= size.length
    assert size.segments >= 1 or size.length == 0


@given(
    st.emails(),
    st.sampled_from(list(Channel)),
    st.one_of(st.none(), st.uuids().map(str)),
)
def test_signed_opt_out_round_trips(recipient: str, channel: Channel, partner_id: str | None) -> None:
    token = OptOutToken(recipient, channel, partner_id)
    assert verify_opt_out(sign_opt_out(token, SECRET), SECRET) == token


@given(st.text(max_size=200))
def test_forged_or_garbled_links_are_refused(garbage: str) -> None:
    assert verify_opt_out(garbage, SECRET) is None


def test_a_link_signed_with_another_secret_or_altered_is_refused() -> None:
    signed = sign_opt_out(OptOutToken("olena@zoria.ua", Channel.EMAIL, None), SECRET)
    assert verify_opt_out(signed, b"another-secret") is None
    _, mac = signed.split(".")
    forged = sign_opt_out(OptOutToken("boss@zoria.ua", Channel.EMAIL, None), SECRET).split(".")[0]
    assert verify_opt_out(f"{forged}.{mac}", SECRET) is None


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(30) == timedelta(seconds=600)
