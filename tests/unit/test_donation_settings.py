"""Stripe settings from the environment: off without keys, both keys or neither."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError

BASE = {"DATABASE_URL": "sqlite:///x.sqlite3", "SECRET_KEY": "k" * 40}
KEYS = {"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_456"}


def test_without_keys_donations_are_off() -> None:
    settings = Settings.from_env(BASE)
    assert settings.stripe.enabled is False
    assert (
        settings.stripe.success_url_for("https://tb.example") == "https://tb.example/donate/thanks"
    )
    assert (
        settings.stripe.cancel_url_for("https://tb.example")
        == "https://tb.example/donate/cancelled"
    )


def test_both_keys_switch_donations_on_and_stay_out_of_reprs() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            **KEYS,
            "STRIPE_API_BASE": "http://127.0.0.1:12111/",
            "DONATION_SUCCESS_URL": "https://tb.example/given",
            "DONATION_CANCEL_URL": "https://tb.example/not-given",
        }
    )
    stripe = settings.stripe
    assert stripe.enabled is True
    assert stripe.api_base == "http://127.0.0.1:12111"
    assert stripe.success_url_for("https://ignored") == "https://tb.example/given"
    assert stripe.cancel_url_for("https://ignored") == "https://tb.example/not-given"
    assert "sk_test_123" not in repr(stripe)
    assert "whsec_456" not in repr(stripe)
    assert "sk_test_123" not in repr(settings)


@pytest.mark.parametrize("only", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_one_key_without_the_other_is_refused(only: str) -> None:
    with pytest.raises(SettingsError, match="go together"):
        Settings.from_env({**BASE, only: KEYS[only]})


@pytest.mark.parametrize("name", ["STRIPE_API_BASE", "DONATION_SUCCESS_URL", "DONATION_CANCEL_URL"])
def test_addresses_must_be_http_urls(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, **KEYS, name: "javascript:alert(1)"})


def test_stripe_checkout_is_the_donate_forms_target_unless_a_fake_stands_in() -> None:
    assert (
        Settings.from_env({**BASE, **KEYS}).stripe.checkout_origin == "https://checkout.stripe.com"
    )
    fake = Settings.from_env({**BASE, **KEYS, "STRIPE_API_BASE": "http://127.0.0.1:9/v1"})
    assert fake.stripe.checkout_origin == "http://127.0.0.1:9"
