"""Forms of the pages for members who are not online (issue 16)."""

from __future__ import annotations

import msgspec

from service.i18n import N_
from service.limits import DISPLAY_NAME_CHARS_MAX, PHONE_CHARS_MAX, SKILLS_CHARS_MAX, WARD_CHARS_MAX
from service.members.forms import BIRTH_YEAR_MESSAGE
from service.members.schemas import OfflineMemberIn
from service.web.kit import Rule, schema_type


class OfflineMemberForm(msgspec.Struct, kw_only=True):
    display_name: str = ""
    community: str = ""
    phone: str = ""
    email: str = ""
    ward: str = ""
    birth_year: str = ""
    skills: str = ""


class ConsentForm(msgspec.Struct, kw_only=True):
    coordinator_may_act: str = ""


OFFLINE_MEMBER_RULES = {
    "display_name": Rule(
        schema_type(OfflineMemberIn, "display_name"),
        N_("Enter their name, in %(chars)s characters or fewer"),
        values={"chars": DISPLAY_NAME_CHARS_MAX},
    ),
    "community": Rule(schema_type(OfflineMemberIn, "community"), N_("Choose the time bank")),
    "phone": Rule(
        schema_type(OfflineMemberIn, "phone"),
        N_("Enter a phone number of digits and spaces, %(chars)s characters or fewer"),
        values={"chars": PHONE_CHARS_MAX},
    ),
    "email": Rule(
        schema_type(OfflineMemberIn, "email"),
        N_("Enter an email address in the right format, like name@example.org, or leave it blank"),
        optional=True,
    ),
    "ward": Rule(
        schema_type(OfflineMemberIn, "ward"),
        N_("Enter the neighbourhood in %(chars)s characters or fewer"),
        values={"chars": WARD_CHARS_MAX},
    ),
    "birth_year": Rule(
        schema_type(OfflineMemberIn, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True
    ),
    "skills": Rule(
        schema_type(OfflineMemberIn, "skills"),
        N_("Describe what they can help with in %(chars)s characters or fewer"),
        values={"chars": SKILLS_CHARS_MAX},
    ),
}

OFFLINE_MEMBER_LABELS = {
    "display_name": N_("Their name"),
    "community": N_("Time bank"),
    "phone": N_("Phone number"),
    "email": N_("Email address"),
    "ward": N_("Neighbourhood or ward"),
    "birth_year": N_("Year of birth"),
    "skills": N_("What they can help with"),
}

ACTING_DONE_MESSAGES = {
    "created": N_("The member has been added. Their welcome hours are in their account."),
    "stopped": N_("You have stopped acting for this member."),
    "invited": N_("We have sent an invitation. The link in it works for 7 days."),
}
