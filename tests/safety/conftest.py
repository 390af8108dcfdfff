"""Safety between members (issue 18): blocks, messages, concerns, pairing. Uses `town`."""
