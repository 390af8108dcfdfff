"""The members pages' forms: fields, the shared validation rules, labels and fixed messages."""

from __future__ import annotations

import msgspec

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


BIRTH_YEAR_MESSAGE = "Enter the year you were born as 4 digits, like 1950, or leave it blank"


REGISTER_RULES = {
    "email": Rule(
        schema_type(RegisterIn, "email"),
        "Enter an email address in the right format, like name@example.org",
    ),
    "password": Rule(
        schema_type(RegisterIn, "password"),
        f"Enter a password of {PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters",
        strip=False,
    ),
    "display_name": Rule(
        schema_type(RegisterIn, "display_name"),
        f"Enter your name, in {DISPLAY_NAME_CHARS_MAX} characters or fewer",
    ),
    "community": Rule(schema_type(RegisterIn, "community"), "Choose your time bank from the list"),
    "ward": Rule(
        schema_type(RegisterIn, "ward"),
        f"Enter your neighbourhood in {WARD_CHARS_MAX} characters or fewer",
    ),
    "birth_year": Rule(schema_type(RegisterIn, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True),
}


REGISTER_LABELS = {
    "email": "Email address",
    "password": "Password",
    "display_name": "Your name",
    "community": "Time bank",
    "ward": "Neighbourhood or ward",
    "birth_year": "Year of birth",
    "consent": "Privacy notice",
}


PROFILE_RULES = {
    "display_name": REGISTER_RULES["display_name"],
    "ward": REGISTER_RULES["ward"],
    "skills": Rule(
        schema_type(ProfilePatch, "skills"),
        f"Describe what you can help with in {SKILLS_CHARS_MAX} characters or fewer",
    ),
    "help_wanted": Rule(
        schema_type(ProfilePatch, "help_wanted"),
        f"Describe what you would like help with in {SKILLS_CHARS_MAX} characters or fewer",
    ),
    "birth_year": Rule(schema_type(ProfilePatch, "birth_year"), BIRTH_YEAR_MESSAGE, optional=True),
}


PROFILE_LABELS = {
    "display_name": "Your name",
    "ward": "Neighbourhood or ward",
    "skills": "What you can help with",
    "help_wanted": "What you would like help with",
    "birth_year": "Year of birth",
}


SLUG_MESSAGE = "Enter a short name of 2 to 60 lowercase letters, digits and single hyphens"


AREA_RULES = {
    "name": Rule(schema_type(AreaIn, "name"), "Enter the area's name, in 100 characters or fewer"),
    "slug": Rule(schema_type(AreaIn, "slug"), SLUG_MESSAGE),
}


AREA_LABELS = {"name": "Area name", "slug": "Short name"}


COMMUNITY_RULES = {
    "name": Rule(
        schema_type(CommunityIn, "name"), "Enter the community's name, in 100 characters or fewer"
    ),
    "slug": Rule(schema_type(CommunityIn, "slug"), SLUG_MESSAGE),
    "area": Rule(schema_type(CommunityIn, "area"), "Choose the council area"),
    "welcome_credit_minutes": Rule(
        schema_type(CommunityIn, "welcome_credit_minutes"),
        "Enter the welcome credit as a whole number of minutes, from 0 to 6000",
    ),
}


COMMUNITY_LABELS = {
    "name": "Community name",
    "slug": "Short name",
    "area": "Council area",
    "requires_approval": "Approval",
    "welcome_credit_minutes": "Welcome credit",
}


ROLE_RULES = {
    "action": Rule(schema_type(RoleChangeIn, "action"), "Choose whether to grant or revoke"),
    "role": Rule(schema_type(RoleChangeIn, "role"), "Choose a role"),
    "community": Rule(
        schema_type(RoleChangeIn, "community"), "Choose a community from the list", optional=True
    ),
    "area": Rule(schema_type(RoleChangeIn, "area"), "Choose an area from the list", optional=True),
    "reason": Rule(
        schema_type(RoleChangeIn, "reason"),
        f"Enter the reason, in {REASON_CHARS_MAX} characters or fewer",
    ),
}


ROLE_NAMES = {"coordinator": "Coordinator", "council": "Council viewer", "admin": "Admin"}


ROLE_LABELS = {
    "member": "Member",
    "action": "Grant or revoke",
    "role": "Role",
    "community": "Community",
    "area": "Council area",
    "reason": "Reason",
}


# Confirmations after a redirect: the query names one, the text is fixed here,
# so nothing from the address is ever echoed into the page.
DONE_MESSAGES = {
    "registered": "Your account is ready. Please sign in.",
    "registered-pending": "Your account is ready. You can sign in now; a coordinator "
    "will approve your membership soon.",
    "signed-out": "You have signed out. Thank you for visiting.",
    "profile-saved": "Your profile has been saved.",
    "consent-on": "A coordinator of your time bank may now act for you.",
    "consent-off": "Coordinators can no longer act for you.",
    "approved": "Approved. Their welcome credit has been added to their account.",
    "area-created": "The area has been created.",
    "community-created": "The community has been created, with its accounts.",
    "role-granted": "The role has been granted. It is recorded in the audit log.",
    "role-revoked": "The role has been revoked. It is recorded in the audit log.",
}
