"""Turn claimed outbox rows into an email: plain text and HTML from the templates.

Event mail carries a one-click unsubscribe link (signed, so only the member's
own mail can switch their email off) and the List-Unsubscribe headers mail
programs show as a button (RFC 2369, RFC 8058).
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.i18n import N_, _, install_in, use_language
from service.mail.messages import Wording, wording_of
from service.mail.outbox import ClaimedMail, utc_now

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"
UNSUBSCRIBE_SIGNATURE_CHARS = 32
TIME_BANK_NAME_DEFAULT = N_("your time bank")
HEADER_LINE_CHARS_MAX = 998  # RFC 5322's hard limit
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=HEADER_LINE_CHARS_MAX)


@dataclass(frozen=True, slots=True)
class MailIdentity:
    """What every message needs from the settings: where links point, who it is from."""

    base_url: str
    mail_from: str
    secret_key: str


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
install_in(_environment)  # {{ _("...") }} and {% trans %} in the reader's language


def unsubscribe_signature(secret_key: str, member_id: uuid.UUID) -> str:
    digest = hmac.new(
        secret_key.encode(), f"mail-unsubscribe:{member_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode()[:UNSUBSCRIBE_SIGNATURE_CHARS]


def unsubscribe_signature_valid(secret_key: str, member_id: uuid.UUID, signature: str) -> bool:
    return hmac.compare_digest(unsubscribe_signature(secret_key, member_id), signature)


def unsubscribe_url(identity: MailIdentity, member_id: uuid.UUID) -> str:
    signature = unsubscribe_signature(identity.secret_key, member_id)
    return f"{identity.base_url}/unsubscribe/{member_id}/{signature}"


def compose(identity: MailIdentity, mails: list[ClaimedMail]) -> EmailMessage:
    """One message: a single mail, or a digest when several are sent together.

    Written in the recipient's language, which `mail_member` put in the context
    (none there, as in mail queued before languages, or to an address: English).
    """
    language = mails[0].context.get("language")
    with use_language(language if isinstance(language, str) else None):
        return _compose(identity, mails)


def _compose(identity: MailIdentity, mails: list[ClaimedMail]) -> EmailMessage:
    first = mails[0]
    wordings = [wording_of(mail.kind, mail.context) for mail in mails]
    names = first.context
    context: dict[str, Any] = {
        "display_name": names.get("display_name", ""),
        "time_bank": names.get("community_name") or _(TIME_BANK_NAME_DEFAULT),
        "base_url": identity.base_url,
        "unsubscribe_url": None,
    }
    if first.is_event and first.member_id is not None:
        context["unsubscribe_url"] = unsubscribe_url(identity, first.member_id)
    if len(mails) == 1 and not first.digest:
        subject = wordings[0].subject
        template = "message"
        context["wording"] = wordings[0]
        context["action_url"] = identity.base_url + wordings[0].action_path
    else:
        subject = _("News from %(time_bank)s") % {"time_bank": context["time_bank"]}
        template = "digest"
        context["items"] = [_digest_item(identity, wording) for wording in wordings]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((str(context["time_bank"]), identity.mail_from))
    message["To"] = first.to_address
    message["Date"] = format_datetime(utc_now())
    # Stable per outbox row: a rare resend after a crash carries the same id.
    message["Message-ID"] = make_msgid(idstring=str(first.id), domain="timebank.invalid")
    if context["unsubscribe_url"]:
        message["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_environment.get_template(f"{template}.txt").render(context))
    message.add_alternative(
        _environment.get_template(f"{template}.html").render(context), subtype="html"
    )
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent and filed: CRLF lines, headers unfolded up to RFC 5322's 998.

    With the usual 78-column folding, Python turns a long header without spaces
    (the List-Unsubscribe URL) into an encoded word that mail programs cannot use.
    """
    return message.as_bytes(policy=WIRE_POLICY)


def _digest_item(identity: MailIdentity, wording: Wording) -> dict[str, Any]:
    return {"wording": wording, "action_url": identity.base_url + wording.action_path}
