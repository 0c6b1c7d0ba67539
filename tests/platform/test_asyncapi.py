"""The committed AsyncAPI documents describe the events the services really publish."""

from __future__ import annotations

import pytest
import yaml

from crm_platform.asyncapi import SERVICES, document, path_of, spec_of


@pytest.mark.parametrize("service", SERVICES)
def test_committed_asyncapi_document_is_current(service: str) -> None:
    committed = path_of(service)
    assert committed.exists(), f"{committed} missing: run `make asyncapi`"
    assert committed.read_text() == document(spec_of(service)), f"{committed} is stale: run `make asyncapi`"


def test_partner_registered_is_documented_with_its_fields() -> None:
    doc = yaml.safe_load(path_of("partners").read_text())
    channel = doc["channels"]["crm.partners.partner.v1:crm.partners.partner.registered"]
    assert channel["address"] == "crm.partners.partner.v1"
    schema = doc["components"]["schemas"]["PartnerRegistered"]
    assert {"partner_id", "name", "manager_id", "roles", "contacts", "version"} <= set(schema["properties"])
