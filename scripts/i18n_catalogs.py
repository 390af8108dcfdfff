"""The work behind `bash scripts/i18n`: extract, update, compile and check the catalogs.

Catalogs are written without source locations and sorted by msgid, with a fixed
creation date, so that the same code always gives the same bytes: branches that
add messages merge cleanly, and `check` can compare a fresh extraction with the
committed messages.pot byte for byte.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "service" / "locale"
TEMPLATE = LOCALE_DIR / "messages.pot"
DOMAIN = "messages"
TRANSLATED_LANGUAGES = ("cy",)  # English is the msgid itself
# The words that mark a message (service/i18n, and Jinja's `{% trans %}` which becomes gettext).
KEYWORDS = ("_", "N_", "gettext", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3")
FIXED_DATE = "2026-12-06 10:00+0000"  # the header's dates never change, so the files do not churn
LINE_CHARS = 76
HEADER = (
    "# The messages of timebank, in English: the template every translation follows (ADR 0048)."
)


def _normalise_header(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith(('"POT-Creation-Date: ', '"PO-Revision-Date: ')):
            key = line[1 : line.index(":")]
            lines.append(f'"{key}: {FIXED_DATE}\\n"\n')
        else:
            lines.append(line)
    return "".join(lines)


def _extracted() -> str:
    """messages.pot as the code and templates say it should be."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "messages.pot"
        argv = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(output)]
        argv += ["--no-location", "--sort-output", "--no-default-keywords", "-w", str(LINE_CHARS)]
        argv += ["--project=timebank", "--add-comments=Translators:", f"--header-comment={HEADER}"]
        for keyword in KEYWORDS:
            argv += ["-k", keyword]
        argv.append(".")  # babel.cfg's patterns start at the top (dot-directories are skipped)
        CommandLineInterface().run(argv)
        return _normalise_header(output.read_text(encoding="utf-8"))


def _catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_po(
        buffer, catalog, width=LINE_CHARS, no_location=True, sort_output=True, ignore_obsolete=True
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_normalise_header(buffer.getvalue().decode("utf-8")), encoding="utf-8")


def extract() -> int:
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE.write_text(_extracted(), encoding="utf-8")
    print(f"wrote {TEMPLATE.relative_to(ROOT)}")
    return 0


def update() -> int:
    template = _read(TEMPLATE)
    for language in TRANSLATED_LANGUAGES:
        path = _catalog_path(language)
        if path.exists():
            catalog = _read(path, language)
        else:  # a new language: its plural rules come from Babel's locale data
            catalog = Catalog(locale=language, domain=DOMAIN, project="timebank")
        catalog.update(template, no_fuzzy_matching=True)
        _write(path, catalog)
        missing = sum(1 for message in catalog if message.id and not message.string)
        print(f"wrote {path.relative_to(ROOT)} ({missing} messages need a translation)")
    return 0


def compile_catalogs() -> int:
    for language in TRANSLATED_LANGUAGES:
        path = _catalog_path(language)
        with path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, _read(path, language), use_fuzzy=False)
        print(f"wrote {path.with_suffix('.mo').relative_to(ROOT)}")
    return 0


def _key(message_id: str | tuple[str, ...], context: str | None) -> tuple[str | None, str]:
    return (context, message_id if isinstance(message_id, str) else message_id[0])


def _language_problems(template: Catalog, language: str) -> list[str]:
    path = _catalog_path(language)
    if not path.exists():
        return [f"{path.relative_to(ROOT)} is missing: run bash scripts/i18n update"]
    catalog = _read(path, language)
    problems = []
    wanted = {_key(message.id, message.context) for message in template if message.id}
    present = {_key(message.id, message.context) for message in catalog if message.id}
    for context, message_id in sorted(wanted - present, key=str):
        problems.append(
            f"{language}: not in the catalog (run update): {message_id!r} {context or ''}"
        )
    for context, message_id in sorted(present - wanted, key=str):
        problems.append(
            f"{language}: no longer used (run update): {message_id!r} {context or ''}".rstrip()
        )
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(
                f"{language}: fuzzy, check the Welsh and remove the flag: {message.id!r}"
            )
        elif not all(strings):
            problems.append(f"{language}: no translation: {message.id!r}")
    for message, errors in catalog.check():
        problems.extend(f"{language}: {message.id!r}: {error}" for error in errors)
    return problems


def check() -> int:
    problems = []
    if not TEMPLATE.exists() or TEMPLATE.read_text(encoding="utf-8") != _extracted():
        problems.append(
            "messages.pot is out of date: run bash scripts/i18n extract && bash scripts/i18n update"
        )
    else:
        template = _read(TEMPLATE)
        for language in TRANSLATED_LANGUAGES:
            problems.extend(_language_problems(template, language))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"i18n check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("i18n check: catalogs complete and up to date")
    return 0


REFRESH = "run bash scripts/i18n extract && bash scripts/i18n update"
COMMANDS = {"extract": extract, "update": update, "compile": compile_catalogs, "check": check}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: bash scripts/i18n {'|'.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
