"""Disputes: a party questions a completed exchange; an admin resolves it with new entries."""
