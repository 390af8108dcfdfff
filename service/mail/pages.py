"""Mail pages: a member's email preference, the one-click unsubscribe, the admin's outbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from service.http.access import Access, access
from service.i18n import N_, _
from service.limits import PAGE_SIZE_DEFAULT
from service.mail import outbox
from service.mail.compose import unsubscribe_signature_valid
from service.mail.outbox import EmailFrequency, MailStatus
from service.principal import not_found, require_admin
from service.settings import Settings
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    page_exception_handlers,
    render,
    see_other,
)

FREQUENCY_CHOICES: tuple[tuple[EmailFrequency, str], ...] = (
    ("immediate", N_("Straight away, one email for each thing that happens")),
    ("daily", N_("Once a day, all together, in the morning")),
    ("weekly", N_("Once a week, all together, on Monday morning")),
    ("off", N_("No emails (you will still see everything when you sign in)")),
)
STATUS_CHOICES: tuple[MailStatus, ...] = ("queued", "sent", "dead")
# The statuses as the outbox page shows them (marked here, translated in the template).
STATUS_WORDS = (N_("queued"), N_("sent"), N_("dead"))
SIGNATURE_CHARS_MAX = 64


class NotificationForm(msgspec.Struct, kw_only=True):
    email: str = ""


class NotificationPages(PageController):
    opt = access(Access.MEMBER)

    @get("/account/notifications")
    async def notifications_page(
        self, viewer: Viewer, done: FromQuery[str | None] = None
    ) -> Template:
        chosen = await outbox.email_frequency_of(viewer.member_id)
        notice = _("Your choice has been saved.") if done == "saved" else None
        return _notifications_page(viewer, Form(values={"email": chosen}), notice=notice)

    @post("/account/notifications")
    async def notifications_save(
        self, viewer: Viewer, data: URLEncodedBody[NotificationForm]
    ) -> Template | Redirect:
        form = Form.of(data)
        choices = {value for value, _label in FREQUENCY_CHOICES}
        if data.email not in choices:
            form.errors["email"] = _("Choose how often we may email you")
            return _notifications_page(viewer, form, status=422)
        frequency: EmailFrequency = data.email
        await outbox.email_frequency_set(member_id=viewer.member_id, frequency=frequency)
        return see_other("/account/notifications", done="saved")


def _notifications_page(
    viewer: Any, form: Form, *, status: int = 200, notice: str | None = None
) -> Template:
    return render(
        "mail/notifications.html",
        viewer=viewer,
        title=_("Emails from your time bank"),
        current="profile",
        status=status,
        form=form,
        notice=notice,
        choices=[(value, _(label)) for value, label in FREQUENCY_CHOICES],
    )


class UnsubscribePages(Controller):
    """Reached from a link in a message: the signature stands in for signing in."""

    opt = access(Access.PUBLIC)

    path = "/unsubscribe"
    include_in_schema = False
    exception_handlers = page_exception_handlers()

    @get("/{member_id:uuid}/{signature:str}")
    async def confirm_page(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[uuid.UUID],
        signature: FromPath[str],
    ) -> Template:
        _check_signature(request, member_id, signature)
        return render(
            "mail/unsubscribe.html",
            viewer=None,
            title=_("Stop emails"),
            action=f"/unsubscribe/{member_id}/{signature}",
            done=False,
        )

    @post("/{member_id:uuid}/{signature:str}")
    async def unsubscribe(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[uuid.UUID],
        signature: FromPath[str],
    ) -> Template:
        # Also the target of mail programs' one-click button (RFC 8058), which
        # posts "List-Unsubscribe=One-Click" with no cookie: the signature is the proof.
        _check_signature(request, member_id, signature)
        await outbox.email_frequency_set(member_id=member_id, frequency="off")
        return render("mail/unsubscribe.html", viewer=None, title=_("Emails stopped"), done=True)


def _check_signature(request: Request[Any, Any, Any], member_id: uuid.UUID, signature: str) -> None:
    settings: Settings = request.app.state.settings
    if len(signature) > SIGNATURE_CHARS_MAX or not unsubscribe_signature_valid(
        settings.secret_key, member_id, signature
    ):
        raise not_found(_("That link"))


class OutboxPages(PageController):
    opt = access(Access.ADMIN)
    path = "/admin/outbox"

    @get("/")
    async def outbox_page(
        self,
        viewer: Viewer,
        status: Annotated[str, QueryParameter(max_length=10)] = "",
        done: FromQuery[str | None] = None,
    ) -> Template:
        require_admin(viewer)
        chosen: MailStatus | None = status if status in STATUS_CHOICES else None
        rows = await outbox.outbox_list(actor=viewer, status=chosen, limit=PAGE_SIZE_DEFAULT)
        return render(
            "mail/outbox.html",
            viewer=viewer,
            title=_("Outgoing mail"),
            current="admin",
            rows=rows,
            chosen_status=chosen or "",
            statuses=STATUS_CHOICES,
            notice=_("The message will be sent again shortly.") if done == "retried" else None,
        )

    @post("/{message_id:uuid}/retry")
    async def retry(self, viewer: Viewer, message_id: FromPath[uuid.UUID]) -> Redirect:
        await outbox.outbox_retry(actor=viewer, message_id=message_id)
        return see_other("/admin/outbox", done="retried")


PAGE_ROUTERS = [NotificationPages, UnsubscribePages, OutboxPages]
