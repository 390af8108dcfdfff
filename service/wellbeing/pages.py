"""The wellbeing check-in page: answer (with consent), skip for now, see and delete answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Final

import msgspec
from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template
from msgspec import Meta

from service.http.access import Access, access
from service.http.deps import EngineDep
from service.i18n import N_, _
from service.limits import (
    WELLBEING_ONS_MAX,
    WELLBEING_ONS_MIN,
    WELLBEING_UCLA_MAX,
    WELLBEING_UCLA_MIN,
)
from service.principal import Principal
from service.web.kit import (
    Form,
    PageController,
    Reshow,
    Rule,
    Viewer,
    done_message,
    form_post,
    render,
    see_other,
)
from service.wellbeing import services
from service.wellbeing.services import ONS_QUESTIONS, UCLA_ANSWERS, UCLA_QUESTIONS, Answers

PATH: Final = "/wellbeing"
CONSENTED: Final = "yes"
OnsAnswer = Annotated[int, Meta(ge=WELLBEING_ONS_MIN, le=WELLBEING_ONS_MAX)]
UclaAnswer = Annotated[int, Meta(ge=WELLBEING_UCLA_MIN, le=WELLBEING_UCLA_MAX)]
LABELS: Final = {**ONS_QUESTIONS, **UCLA_QUESTIONS, "consent": N_("Consent")}
DONE_MESSAGES: Final = {
    "saved": N_("Thank you. Your answers are saved; only you can see them."),
    "skipped": N_("No problem. We will ask again in about six months."),
    "deleted": N_("That check-in is deleted."),
}


def _rules() -> dict[str, Rule]:
    """The rules, their messages in the reader's language (made per request)."""
    ons = _("Choose a number from %(low)s to %(high)s") % {
        "low": WELLBEING_ONS_MIN,
        "high": WELLBEING_ONS_MAX,
    }
    return {
        **{name: Rule(OnsAnswer, ons) for name in ONS_QUESTIONS},
        **{name: Rule(UclaAnswer, _("Choose one of the answers")) for name in UCLA_QUESTIONS},
    }


def _translated(words: Mapping[Any, str]) -> dict[Any, str]:
    return {key: _(text) for key, text in words.items()}


class CheckInForm(msgspec.Struct, kw_only=True):
    consent: str = ""
    life_satisfaction: str = ""
    worthwhile: str = ""
    happy_yesterday: str = ""
    anxious_yesterday: str = ""
    lack_companionship: str = ""
    left_out: str = ""
    isolated: str = ""


async def _page(
    viewer: Principal,
    form: Form,
    *,
    done: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    return render(
        "wellbeing/checkin.html",
        viewer=viewer,
        title=_("Wellbeing check-in"),
        current="profile",
        status=status,
        headers=headers,
        form=form,
        notice=done_message(_translated(DONE_MESSAGES), done),
        due=await services.checkin_due(viewer),
        checkins=await services.checkins_of(viewer.member_id),
        ons_questions=_translated(ONS_QUESTIONS),
        ons_options=[(str(n), str(n)) for n in range(WELLBEING_ONS_MIN, WELLBEING_ONS_MAX + 1)],
        ucla_questions=_translated(UCLA_QUESTIONS),
        ucla_options=[(str(value), _(words)) for value, words in UCLA_ANSWERS.items()],
        ucla_words=_translated(UCLA_ANSWERS),
    )


class WellbeingPages(PageController):
    opt = access(Access.MEMBER)
    path = PATH

    @get("/")
    async def checkin_page(self, viewer: Viewer, done: FromQuery[str | None] = None) -> Template:
        return await _page(viewer, Form(), done=done)

    @post("/")
    async def answer(
        self, viewer: Viewer, engine: EngineDep, data: URLEncodedBody[CheckInForm]
    ) -> Response[Any]:
        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await services.checkin_record(
                engine=engine,
                actor=viewer,
                answers=Answers(**cleaned),
                consent=data.consent == CONSENTED,
            )
            return see_other(PATH, done="saved")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return await _page(viewer, form, **refused)

        return await form_post(
            Form.of(data), data, _rules(), _translated(LABELS), write=write, reshow=reshow
        )

    @post("/skip")
    async def skip(self, viewer: Viewer, engine: EngineDep) -> Response[Any]:
        await services.checkin_skip(engine=engine, actor=viewer)
        return see_other(PATH, done="skipped")

    @post("/{checkin_id:uuid}/delete")
    async def remove(
        self, viewer: Viewer, engine: EngineDep, checkin_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        await services.checkin_delete(engine=engine, actor=viewer, checkin_id=checkin_id)
        return see_other(PATH, done="deleted")


PAGE_ROUTERS = [WellbeingPages]

__all__ = ["PAGE_ROUTERS"]
