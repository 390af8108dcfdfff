"""Translation: the language of the current request and the gettext translators.

One catalog (service/locale/cy/LC_MESSAGES/messages.po) holds the Welsh for every
message; English is the msgid itself, so English needs no catalog. The .po is read
and compiled in memory the first time a language is used (no .mo file in git:
ADR 0048), fuzzy entries left out, so a guessed translation is never shown.

The language lives in a ContextVar: the language middleware sets it per request,
`use_language` sets it for mail and sweeps. Translate when the text is shown,
never at import time; `N_` only marks a module-level constant for extraction.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ENGLISH = "en"
WELSH = "cy"
LANGUAGES = (ENGLISH, WELSH)
DEFAULT_LANGUAGE = ENGLISH
# What each language is called in itself, for the chooser.
LANGUAGE_NAMES = {ENGLISH: "English", WELSH: "Cymraeg"}
# The `lang` attribute of a page (BCP 47): British English is what the msgids are written in.
HTML_LANGS = {ENGLISH: "en-GB", WELSH: "cy"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

_language: ContextVar[str] = ContextVar("timebank_language", default=DEFAULT_LANGUAGE)


def is_language(code: object) -> bool:
    return isinstance(code, str) and code in LANGUAGES


def current_language() -> str:
    """The language text is shown in now: "en" or "cy"."""
    return _language.get()


def html_lang() -> str:
    """The current language as a page's `lang` attribute ("en-GB", "cy")."""
    return HTML_LANGS[current_language()]


def set_language(code: str | None) -> None:
    """Set the language for the rest of this context (one request); unknown codes mean English."""
    _language.set(code if code is not None and is_language(code) else DEFAULT_LANGUAGE)


@contextmanager
def use_language(code: str | None) -> Iterator[None]:
    """Show text in `code` inside the block (a mail to a Welsh reader, a sweep)."""
    token = _language.set(code if code is not None and is_language(code) else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


# Choosing the language -----------------------------------------------------------------
# The member's stored choice, else the `lang` cookie (the chooser sets it, for anyone),
# else the browser's Accept-Language, else English (ADR 0048).

LANGUAGE_COOKIE = "lang"
ACCEPT_LANGUAGE_TAGS_MAX = 20  # a longer header is someone's test; the first 20 decide


def accepted_languages(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first ("cy-GB,cy;q=0.9,en;q=0.5")."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:ACCEPT_LANGUAGE_TAGS_MAX]):
        tag, _sep, parameters = part.strip().partition(";")
        quality = 1.0
        name, _eq, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            weighted.append((-quality, position, tag.strip().lower()))
    return [tag for _quality, _position, tag in sorted(weighted)]


def negotiate(*, member_choice: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language to show: the member's choice, the cookie, Accept-Language, English."""
    for choice in (member_choice, cookie):
        if is_language(choice):
            return str(choice)
    # negotiate_locale matches "cy-GB" to "cy" and "en-US" to "en".
    found = negotiate_locale(accepted_languages(accept_language), list(LANGUAGES), sep="-")
    return found if found is not None and found in LANGUAGES else DEFAULT_LANGUAGE


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalog of a language, read from its .po the first time it is asked for."""
    if code == ENGLISH:
        return gettext.NullTranslations()
    with catalog_path(code).open("rb") as po_file:
        catalog = read_po(po_file, locale=code, domain=DOMAIN, ignore_obsolete=True)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def load_catalogs() -> None:
    """Read every catalog now (at start), so a broken .po stops the service, not a page."""
    for code in LANGUAGES:
        translations(code)


def _(message: str) -> str:
    """`message` in the current language (an empty text stays empty, not the catalog header)."""
    if not message:
        return message
    return translations(current_language()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 (the name extraction tools know)
    """Mark a module-level constant for extraction; translate it with `_` where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` in the current language (Welsh has six); fill %(n)s afterwards."""
    return translations(current_language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the current language, told apart from the same English in other places."""
    return translations(current_language()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current_language()).npgettext(context, singular, plural, n)


def known_word(text: str) -> str:
    """Data that may have a translation (a category the service seeded); else as it is.

    Unlike `{{ _(text) }}` in a template, never treats the text as a format string.
    """
    return _(text)


def install_in(environment: Environment) -> None:
    """Give a Jinja environment `{{ _("...") }}` and `{% trans %}` in the current language.

    Newstyle gettext: variables are passed as keywords and autoescaped, and the
    translation always goes through `%`, so a literal percent sign is written "%%".
    """
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
    )
    environment.globals["html_lang"] = html_lang
    environment.globals["current_language"] = current_language
    environment.globals["known_word"] = known_word
