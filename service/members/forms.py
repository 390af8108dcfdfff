"""The members pages' forms: fields, the shared validation rules, labels and fixed messages."""

from __future__ import annotations

import msgspec

from service.i18n import N_
from service.limits import (
    DISPLAY_NAME_CHARS_MAX,
    PASSWORD_CHARS_MAX,
    PASSWORD_CHARS_MIN,
    REASON_CHARS_MAX,
    SKILLS_CHARS_MAX,
    WARD_CHARS_MAX,
)
from service.members.schemas import (
    AreaIn,
    CommunityIn,
    ProfilePatch,
    RegisterIn,
    RoleChangeIn,
)
from service.web.kit import (
    Rule,
    schema_type,
)

CHECKED = "yes"  # the value of every checkbox in these forms


class RegisterForm(msgspec.Struct, kw_only=True):
    email: str = ""
    password: str = ""
    display_name: str = ""
    community: str = ""
    ward: str = ""
    birth_year: str = ""
    consent: str = ""


class LanguageForm(msgspec.Struct, kw_only=True):
    """The language chooser on every page (base.html)."""

    lang: str = ""
    next_path: str = msgspec.field(default="", name="next")


class SignInForm(msgspec.Struct, kw_only=True):
    email: str = ""
    password: str = ""
    next_path: str = msgspec.field(default="", name="next")


class ProfileForm(msgspec.Struct, kw_only=True):
    display_name: str = ""
    ward: str = ""
    skills: str = ""
    help_wanted: str = ""
    birth_year: str = ""


class AreaForm(msgspec.Struct, kw_only=True):
    name: str = ""
    slug: str = ""


class CommunityForm(msgspec.Struct, kw_only=True):
    name: str = ""
    slug: str = ""
    area: str = ""
    requires_approval: str = ""
    welcome_credit_minutes: str = ""


class RoleForm(msgspec.Struct, kw_only=True):
    member: str = ""
    action: str = ""
    role: str = ""
    community: str = ""
    area: str = ""
    reason: str = ""


BIRTH_YEAR_MESSAGE = N_("Enter the year you were born as 4 digits, like 1950, or leave it blank")


REGISTER_RULES = {
    "email": Rule(
        schema_type(RegisterIn, "email"),
        N_("Enter an email address in the right format, like name@example.org"),
    ),
    "password": Rule(
        schema_type(RegisterIn, "password"),
        N_("Enter a password of %(least)s to %(most)s characters"),
        strip=False,
        values={"least": PASSWORD_CHARS_MIN, "most": PASSWORD_CHARS_MAX},
    ),
    "display_name": Rule(
        schema_type(RegisterIn, "display_name"),
        N_("Enter your name, in %(chars)s characters or fewer"),
        values={"chars": DISPLAY_NAME_CHARS_MAX},
    ),
    "community": Rule(
        schema_type(RegisterIn, "community"), N_("Choose your time bank from the list")
    ),
    "ward": Rule(
        schema_type(RegisterIn, "ward"),
        N_("Enter your neighbourhood in %(chars)s characters or fewer"),
        values={"chars": WARD_CHARS_MAX},
    ),
    "birth_year": Rule(schema_type(RegisterIn, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True),
}


REGISTER_LABELS = {
    "email": N_("Email address"),
    "password": N_("Password"),
    "display_name": N_("Your name"),
    "community": N_("Time bank"),
    "ward": N_("Neighbourhood or ward"),
    "birth_year": N_("Year of birth"),
    "consent": N_("Privacy notice"),
}


PROFILE_RULES = {
    "display_name": REGISTER_RULES["display_name"],
    "ward": REGISTER_RULES["ward"],
    "skills": Rule(
        schema_type(ProfilePatch, "skills"),
        N_("Describe what you can help with in %(chars)s characters or fewer"),
        values={"chars": SKILLS_CHARS_MAX},
    ),
    "help_wanted": Rule(
        schema_type(ProfilePatch, "help_wanted"),
        N_("Describe what you would like help with in %(chars)s characters or fewer"),
        values={"chars": SKILLS_CHARS_MAX},
    ),
    "birth_year": Rule(schema_type(ProfilePatch, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True),
}


PROFILE_LABELS = {
    "display_name": N_("Your name"),
    "ward": N_("Neighbourhood or ward"),
    "skills": N_("What you can help with"),
    "help_wanted": N_("What you would like help with"),
    "birth_year": N_("Year of birth"),
}


SLUG_MESSAGE = N_("Enter a short name of 2 to 60 lowercase letters, digits and single hyphens")


AREA_RULES = {
    "name": Rule(
        schema_type(AreaIn, "name"), N_("Enter the area's name, in 100 characters or fewer")
    ),
    "slug": Rule(schema_type(AreaIn, "slug"), SLUG_MESSAGE),
}


AREA_LABELS = {"name": N_("Area name"), "slug": N_("Short name")}


COMMUNITY_RULES = {
    "name": Rule(
        schema_type(CommunityIn, "name"),
        N_("Enter the community's name, in 100 characters or fewer"),
    ),
    "slug": Rule(schema_type(CommunityIn, "slug"), SLUG_MESSAGE),
    "area": Rule(schema_type(CommunityIn, "area"), N_("Choose the council area")),
    "welcome_credit_minutes": Rule(
        schema_type(CommunityIn, "welcome_credit_minutes"),
        N_("Enter the welcome credit as a whole number of minutes, from 0 to 6000"),
    ),
}


COMMUNITY_LABELS = {
    "name": N_("Community name"),
    "slug": N_("Short name"),
    "area": N_("Council area"),
    "requires_approval": N_("Approval"),
    "welcome_credit_minutes": N_("Welcome credit"),
}


ROLE_RULES = {
    "action": Rule(schema_type(RoleChangeIn, "action"), N_("Choose whether to grant or revoke")),
    "role": Rule(schema_type(RoleChangeIn, "role"), N_("Choose a role")),
    "community": Rule(
        schema_type(RoleChangeIn, "community"),
        N_("Choose a community from the list"),
        optional=True,
    ),
    "area": Rule(
        schema_type(RoleChangeIn, "area"), N_("Choose an area from the list"), optional=True
    ),
    "reason": Rule(
        schema_type(RoleChangeIn, "reason"),
        N_("Enter the reason, in %(chars)s characters or fewer"),
        values={"chars": REASON_CHARS_MAX},
    ),
}


ROLE_NAMES = {
    "coordinator": N_("Coordinator"),
    "council": N_("Council viewer"),
    "admin": N_("Admin"),
}


ROLE_LABELS = {
    "member": N_("Member"),
    "action": N_("Grant or revoke"),
    "role": N_("Role"),
    "community": N_("Community"),
    "area": N_("Council area"),
    "reason": N_("Reason"),
}


# Confirmations after a redirect: the query names one, the text is fixed here,
# so nothing from the address is ever echoed into the page.
DONE_MESSAGES = {
    "registered": N_("Your account is ready. Please sign in."),
    "registered-pending": N_(
        "Your account is ready. You can sign in now; a coordinator "
        "will approve your membership soon."
    ),
    "signed-out": N_("You have signed out. Thank you for visiting."),
    "profile-saved": N_("Your profile has been saved."),
    "consent-on": N_("A coordinator of your time bank may now act for you."),
    "consent-off": N_("Coordinators can no longer act for you."),
    "approved": N_("Approved. Their welcome credit has been added to their account."),
    "area-created": N_("The area has been created."),
    "community-created": N_("The community has been created, with its accounts."),
    "role-granted": N_("The role has been granted. It is recorded in the audit log."),
    "role-revoked": N_("The role has been revoked. It is recorded in the audit log."),
}
