"""Wellbeing check-ins: optional, consented answers a member can see and delete (ADR 0042)."""
