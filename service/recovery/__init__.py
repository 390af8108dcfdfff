"""Account recovery: password reset (mailed link or coordinator's code), password and email change.

ADR 0023.
"""
