"""partners: who the company deals with: partners, counterparties, contacts, leads."""
