"""Who lives in the demo: its area, two communities, the people with their roles
(one of each role, members of all ages), and the gifts they make.

Data only; `timebank demo` (service/demo/commands.py) loads it, looking before
each write, so a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.i18n import N_
from service.members.schemas import CommunityIn

DEMO_AREA = (N_("Riverside Borough"), "riverside-borough")
DEMO_COMMUNITIES = (
    CommunityIn(
        name=N_("Riverside Time Bank"),
        slug="riverside",
        area=DEMO_AREA[1],
        requires_approval=False,
        welcome_credit_minutes=120,
    ),
    CommunityIn(
        name=N_("Oakfield Time Bank"),
        slug="oakfield",
        area=DEMO_AREA[1],
        requires_approval=True,
        welcome_credit_minutes=120,
    ),
)

DemoRole = Literal["admin", "coordinator", "council", "member", "pending"]


@dataclass(frozen=True, slots=True)
class DemoPerson:
    email: str
    name: str
    community: str  # slug
    ward: str
    age_years: int
    role: DemoRole


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("admin@demo.example", "Helen Carter", "riverside", "Parkside", 52, "admin"),
    DemoPerson(
        "coordinator@demo.example", "David Okafor", "riverside", "Mill Lane", 61, "coordinator"
    ),
    DemoPerson(
        "council@demo.example", "Sarah Whitfield", "riverside", "Station Road", 44, "council"
    ),
    DemoPerson("margaret@demo.example", "Margaret Hughes", "riverside", "Mill Lane", 86, "member"),
    DemoPerson("tom@demo.example", "Tom Fletcher", "riverside", "Station Road", 22, "member"),
    DemoPerson("aisha@demo.example", "Aisha Rahman", "riverside", "Church End", 34, "member"),
    DemoPerson("george@demo.example", "George Pritchard", "riverside", "Parkside", 79, "member"),
    DemoPerson("bethan@demo.example", "Bethan Evans", "riverside", "Mill Lane", 53, "member"),
    DemoPerson("kwame@demo.example", "Kwame Mensah", "riverside", "Church End", 41, "member"),
    DemoPerson("doreen@demo.example", "Doreen Walsh", "riverside", "Station Road", 90, "member"),
    DemoPerson("oliver@demo.example", "Oliver Bennett", "riverside", "Parkside", 27, "member"),
    DemoPerson("fatima@demo.example", "Fatima Begum", "oakfield", "Oakfield Green", 67, "member"),
    DemoPerson("callum@demo.example", "Callum McKenzie", "oakfield", "Brook Street", 45, "member"),
    DemoPerson(
        "patricia@demo.example", "Patricia O'Neill", "oakfield", "Oakfield Green", 74, "member"
    ),
    DemoPerson("ravi@demo.example", "Ravi Patel", "oakfield", "Brook Street", 58, "pending"),
)


@dataclass(frozen=True, slots=True)
class DemoGift:
    """Hours from one member to another, or to the giver's community pool (to_email None)."""

    from_email: str
    to_email: str | None
    minutes: int
    memo: str


DEMO_GIFTS: tuple[DemoGift, ...] = (
    DemoGift("margaret@demo.example", "tom@demo.example", 60, N_("Thank you for sorting my phone")),
    DemoGift("aisha@demo.example", "doreen@demo.example", 30, N_("A little extra for the winter")),
    DemoGift(
        "george@demo.example", "kwame@demo.example", 45, N_("For all the lifts to the surgery")
    ),
    DemoGift(
        "oliver@demo.example", "bethan@demo.example", 60, N_("Thanks for the cooking lessons")
    ),
    DemoGift("callum@demo.example", "kwame@demo.example", 30, N_("Cheers for fixing the fence")),
    DemoGift("fatima@demo.example", "patricia@demo.example", 30, N_("For the company on Sundays")),
    DemoGift("bethan@demo.example", None, 60, N_("For neighbours who need a hand")),
    DemoGift("patricia@demo.example", None, 30, N_("For Oakfield's pool")),
)
