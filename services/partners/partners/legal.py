"""Counterparties and bank accounts: which tax ids a legal form needs, by country. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm_platform.errors import InvalidArgument, Violations
from crm_platform.money import check_currency
from crm_platform.taxids import TaxIdKind, validate_iban, validate_ru_account, validate_tax_id
from partners.domain import Contact, validate_contacts

MAX_FULL_NAME = 500
MAX_SHORT_NAME = 300
MAX_BANK_ACCOUNTS = 20
COUNTRIES = ("UA", "RU")


class LegalForm(StrEnum):
    LEGAL_ENTITY = "legal_entity"
    SOLE_TRADER = "sole_trader"
    NATURAL_PERSON = "natural_person"


class RegisterStatus(StrEnum):
    ACTIVE = "active"
    LIQUIDATED = "liquidated"


@dataclass(frozen=True)
class BankAccountData:
    iban: str = ""
    account: str = ""
    bic: str = ""
    bank_name: str = ""
    currency: str = ""
    main: bool = False


@dataclass(frozen=True)
class CounterpartyData:
    legal_form: LegalForm
    country: str
    full_name: str
    short_name: str
    tax_id: str
    kpp: str
    legal_address: dict[str, str] | None
    bank_accounts: tuple[BankAccountData, ...]
    register_status: str = ""  # "", or a RegisterStatus once checked against the register
    # The legal entity's own phones, e-mails, addresses (not the partner's), normalised.
    contacts: tuple[Contact, ...] = ()


def tax_id_kind(country: str, form: LegalForm) -> TaxIdKind:
    if country == "UA":
        return TaxIdKind.UA_EDRPOU if form is LegalForm.LEGAL_ENTITY else TaxIdKind.UA_IPN
    return TaxIdKind.RU_INN


def _collect(v: Violations, exc: InvalidArgument) -> None:
    for violation in exc.violations:
        v.add(violation.field, violation.description)


def validate_counterparty(
    *,
    legal_form: LegalForm,
    country: str,
    full_name: str,
    short_name: str,
    tax_id: str,
    kpp: str,
    legal_address: dict[str, str] | None,
    bank_accounts: list[BankAccountData],
    prefix: str,
    contacts: list[Contact] | None = None,
    default_phone_region: str = "",
) -> CounterpartyData:
    v = Violations()
    country = country.strip().upper()
    if country not in COUNTRIES:
        v.add(f"{prefix}.country", f"must be one of {', '.join(COUNTRIES)}")
    full = " ".join(full_name.split())
    if not full:
        v.add(f"{prefix}.full_name", "must not be empty")
    elif len(full) > MAX_FULL_NAME:
        v.add(f"{prefix}.full_name", f"longer than {MAX_FULL_NAME} characters")
    short = " ".join(short_name.split())
    if len(short) > MAX_SHORT_NAME:
        v.add(f"{prefix}.short_name", f"longer than {MAX_SHORT_NAME} characters")
    clean_tax_id, clean_kpp = "", ""
    if country in COUNTRIES:
        kind = tax_id_kind(country, legal_form)
        if tax_id.strip():
            try:
                clean_tax_id = validate_tax_id(kind, tax_id, f"{prefix}.tax_id")
            except InvalidArgument as exc:
                _collect(v, exc)
            expected = {TaxIdKind.RU_INN: 10 if legal_form is LegalForm.LEGAL_ENTITY else 12}.get(kind)
            if clean_tax_id and expected and len(clean_tax_id) != expected:
                v.add(f"{prefix}.tax_id", f"INN of a {legal_form.value.replace('_', ' ')} has {expected} digits")
        elif legal_form is not LegalForm.NATURAL_PERSON:
            v.add(f"{prefix}.tax_id", "is required for a legal entity or a sole trader")
        if kpp.strip():
            if country != "RU" or legal_form is not LegalForm.LEGAL_ENTITY:
                v.add(f"{prefix}.kpp", "only a Russian legal entity has a KPP")
            else:
                try:
                    clean_kpp = validate_tax_id(TaxIdKind.RU_KPP, kpp, f"{prefix}.kpp")
                except InvalidArgument as exc:
                    _collect(v, exc)
    if len(bank_accounts) > MAX_BANK_ACCOUNTS:
        v.add(f"{prefix}.bank_accounts", f"at most {MAX_BANK_ACCOUNTS}")
    accounts = []
    for i, account in enumerate(bank_accounts):
        try:
            accounts.append(validate_bank_account(account, country, f"{prefix}.bank_accounts[{i}]"))
        except InvalidArgument as exc:
            _collect(v, exc)
    clean_contacts = validate_contacts(
        v, contacts or [], prefix, default_phone_region or (country if country in COUNTRIES else "UA")
    )
    if sum(a.main for a in accounts) > 1:
        v.add(f"{prefix}.bank_accounts", "only one account can be the main one")
    v.raise_if_any()
    if accounts and not any(a.main for a in accounts):
        accounts[0] = BankAccountData(**{**accounts[0].__dict__, "main": True})
    return CounterpartyData(
        legal_form=legal_form,
        country=country,
        full_name=full,
        short_name=short,
        tax_id=clean_tax_id,
        kpp=clean_kpp,
        legal_address=legal_address or None,
        bank_accounts=tuple(accounts),
        contacts=clean_contacts,
    )


def validate_bank_account(account: BankAccountData, country: str, prefix: str) -> BankAccountData:
    v = Violations()
    iban, number, bic = "", "", ""
    if country == "RU" and not account.iban.strip():
        try:
            number, bic = validate_ru_account(
                account.account, account.bic, account_field=f"{prefix}.account", bic_field=f"{prefix}.bic"
            )
        except InvalidArgument as exc:
            _collect(v, exc)
    else:
        if account.account.strip() or account.bic.strip():
            v.add(f"{prefix}.iban", "a Ukrainian account is given as an IBAN")
        try:
            iban = validate_iban(account.iban, f"{prefix}.iban", country="UA" if country == "UA" else None)
        except InvalidArgument as exc:
            _collect(v, exc)
    currency = ""
    if account.currency.strip():
        try:
            currency = check_currency(account.currency, f"{prefix}.currency")
        except InvalidArgument as exc:
            _collect(v, exc)
    bank_name = " ".join(account.bank_name.split())
    if len(bank_name) > MAX_SHORT_NAME:
        v.add(f"{prefix}.bank_name", f"longer than {MAX_SHORT_NAME} characters")
    v.raise_if_any()
    return BankAccountData(
        iban=iban, account=number, bic=bic, bank_name=bank_name, currency=currency, main=account.main
    )
