"""A coordinator records an exchange that already happened (for members not online):
the page over service/exchanges/recording.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Template

from service.errors import DomainError
from service.exchanges import recording as exchanges_recording
from service.exchanges.page_forms import (
    RECORD_FIELDS,
    RECORD_LABELS,
    RecordForm,
    help_fields,
    help_start,
)
from service.exchanges.page_views import DONE_MESSAGES
from service.exchanges.schemas import RecordIn
from service.http.access import Access, access
from service.http.deps import EngineDep, LedgerDep
from service.i18n import N_, _
from service.limits import EXCHANGE_DESCRIPTION_CHARS_MAX
from service.members.selectors import coordinated_picks
from service.principal import Principal, require_any_coordinator
from service.web.forms import member_field
from service.web.kit import (
    Form,
    PageController,
    Viewer,
    done_message,
    form_idempotency_key,
    form_refused,
    render,
    see_other,
)
from service.web.pickers import PickerSpec, form_pickers


class CoordinatorExchangePages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator"

    @get("/record")
    async def record_page(
        self,
        request: Request[Any, Any, Any],
        viewer: Viewer,
        done: FromQuery[str | None] = None,
    ) -> Template:
        require_any_coordinator(viewer)
        return await _record_page(
            viewer,
            Form(values=help_start()),
            query=request.query_params,
            notice=done_message(DONE_MESSAGES, done),
        )

    @post("/record")
    async def record(
        self,
        viewer: Viewer,
        data: URLEncodedBody[RecordForm],
        engine: EngineDep,
        ledger: LedgerDep,
    ) -> Response[Any]:
        require_any_coordinator(viewer)
        form = Form.of(data)
        provider = member_field(form, "provider", data.provider, N_("Choose the member who helped"))
        recipient = member_field(
            form, "recipient", data.recipient, N_("Choose the member who was helped")
        )
        minutes, service_date, description = help_fields(form, data)
        for problem in exchanges_recording.record_problems(provider, recipient, service_date):
            form_refused(form, problem, RECORD_LABELS, moves=RECORD_FIELDS)
        key = form_idempotency_key(form, data.form_token)
        if (
            form.failed
            or provider is None
            or recipient is None
            or minutes is None
            or service_date is None
            or key is None
        ):
            return await _record_page(viewer, form, status=422)
        try:
            exchange_id = await exchanges_recording.exchange_record(
                engine=engine,
                ledger=ledger,
                actor=viewer,
                data=RecordIn(
                    provider_id=provider,
                    recipient_id=recipient,
                    minutes=minutes,
                    service_date=service_date,
                    description=description,
                ),
                idempotency_key=key,
            )
        except DomainError as problem:
            reshow = form_refused(form, problem, RECORD_LABELS, moves=RECORD_FIELDS)
            return await _record_page(viewer, form, **reshow)
        return see_other(f"/exchanges/{exchange_id}", done="recorded")


async def _record_page(
    viewer: Principal,
    form: Form,
    *,
    query: Mapping[str, str] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> Template:
    picks = coordinated_picks(viewer)
    specs = [
        PickerSpec("provider", _("Who helped"), picks),
        PickerSpec("recipient", _("Who was helped"), picks),
    ]
    pickers = await form_pickers("/coordinator/record", specs, query, form)
    return render(
        "market/coordinator_record.html",
        viewer=viewer,
        title=_("Record an exchange"),
        current="coordinator",
        status=status,
        headers=headers,
        form=form,
        notice=notice,
        provider=pickers["provider"],
        recipient=pickers["recipient"],
        description_max=EXCHANGE_DESCRIPTION_CHARS_MAX,
    )


PAGE_ROUTERS = [CoordinatorExchangePages]
