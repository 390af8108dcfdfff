"""Donations: gifts of money through Stripe, kept in the ledger's GBP unit."""
