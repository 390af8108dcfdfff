"""Mail: the outbox, its worker, the messages and members' preferences (ADR 0022)."""
