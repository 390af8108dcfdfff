"""A community's settings page for its coordinators (the API is
PATCH /api/v1/coordinator/communities/{slug}): how long listings stay up, whether help
in someone's home needs a safeguarding check, how long a done exchange waits for
confirmation, and whether new members need approval."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.params import FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template

from service.http.access import Access, access
from service.http.deps import EngineDep, SettingsDep
from service.i18n import N_, _
from service.limits import (
    EXCHANGE_AUTOCONFIRM_DAYS_MAX,
    EXCHANGE_AUTOCONFIRM_DAYS_MIN,
    LISTING_DAYS_MAX,
    LISTING_DAYS_MIN,
    SLUG_CHARS_MAX,
)
from service.members.communities import (
    communities_list,
    community_coordinated,
    community_settings_change,
)
from service.members.schemas import AutoconfirmDays, CommunitySettingsIn, ListingDays
from service.members.selectors import coordinated_communities, selected_community
from service.members.tables import Community
from service.principal import Principal, not_found
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

CHECKED = "yes"
SETTINGS_RULES = {
    "listing_days": Rule(
        ListingDays,
        N_("Enter a number of days from %(least)s to %(most)s"),
        values={"least": LISTING_DAYS_MIN, "most": LISTING_DAYS_MAX},
    ),
    "autoconfirm_days": Rule(
        AutoconfirmDays,
        N_("Enter a number of days from %(least)s to %(most)s, or leave it blank"),
        values={"least": EXCHANGE_AUTOCONFIRM_DAYS_MIN, "most": EXCHANGE_AUTOCONFIRM_DAYS_MAX},
        optional=True,
    ),
}
SETTINGS_LABELS = {
    "listing_days": N_("Days a listing stays up"),
    "autoconfirm_days": N_("Days before help marked done confirms by itself"),
}
DONE_MESSAGES = {"saved": N_("The settings are saved. They apply from now on.")}


class SettingsForm(msgspec.Struct, kw_only=True):
    community: str = ""
    listing_days: str = ""
    autoconfirm_days: str = ""
    home_check_required: str = ""
    requires_approval: str = ""


def _values_of(community: Community) -> dict[str, str]:
    return {
        "listing_days": str(community.listing_days),
        "autoconfirm_days": ""
        if community.autoconfirm_days is None
        else str(community.autoconfirm_days),
        "home_check_required": CHECKED if community.home_check_required else "",
        "requires_approval": CHECKED if community.requires_approval else "",
    }


class CommunitySettingsPages(PageController):
    opt = access(Access.COORDINATOR)
    path = "/coordinator/settings"

    @get("/")
    async def settings_page(
        self,
        viewer: Viewer,
        settings: SettingsDep,
        community: Annotated[str, QueryParameter(max_length=SLUG_CHARS_MAX)] = "",
        done: FromQuery[str | None] = None,
    ) -> Template:
        choices = coordinated_communities(viewer, await communities_list())
        found = selected_community(choices, community or None)
        if found is None:
            raise not_found(_("That community"))
        form = Form(values=_values_of(found))
        return _page(
            viewer, found, form, settings.exchange_autoconfirm_days, choices=choices, done=done
        )

    @post("/")
    async def save(
        self,
        viewer: Viewer,
        engine: EngineDep,
        settings: SettingsDep,
        data: URLEncodedBody[SettingsForm],
    ) -> Response[Any]:
        found = await community_coordinated(viewer, data.community)

        async def write(cleaned: dict[str, Any]) -> Response[Any]:
            await community_settings_change(
                engine=engine,
                actor=viewer,
                slug=found.slug,
                data=CommunitySettingsIn(
                    listing_days=cleaned["listing_days"],
                    autoconfirm_days=cleaned["autoconfirm_days"],
                    home_check_required=data.home_check_required == CHECKED,
                    requires_approval=data.requires_approval == CHECKED,
                ),
            )
            return see_other("/coordinator/settings", community=found.slug, done="saved")

        async def reshow(form: Form, refused: Reshow) -> Response[Any]:
            return _page(viewer, found, form, settings.exchange_autoconfirm_days, **refused)

        return await form_post(
            Form.of(data), data, SETTINGS_RULES, SETTINGS_LABELS, write=write, reshow=reshow
        )


def _page(
    viewer: Principal,
    community: Community,
    form: Form,
    default_autoconfirm_days: int,
    *,
    choices: list[Community] | None = None,
    done: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    return render(
        "desk/settings.html",
        viewer=viewer,
        title=_("Settings of %(community)s") % {"community": community.name},
        current="coordinator",
        status=status,
        headers=headers,
        community=community,
        choices=choices or [community],
        form=form,
        default_autoconfirm_days=default_autoconfirm_days,
        notice=done_message(DONE_MESSAGES, done),
    )


PAGE_ROUTERS = [CommunitySettingsPages]
