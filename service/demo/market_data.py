"""The marketplace the demo builds: who offers and asks for what, and the planned
exchanges (with the state each should reach), recorded exchanges and pool grants.

Data only; service/demo/market.py loads it through the service functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.i18n import N_
from service.listings.schemas import ListingKind

Outcome = Literal["proposed", "accepted", "completed", "cancelled"]


@dataclass(frozen=True, slots=True)
class DemoListing:
    owner: str  # email of a demo member
    kind: ListingKind
    category: str  # slug
    title: str
    description: str
    availability: str = ""


@dataclass(frozen=True, slots=True)
class DemoExchange:
    """An exchange, proposed by `proposer` and moved on to `outcome`."""

    key: str  # the Idempotency-Key the proposal is made with: its id follows from it
    proposer: str
    provider: str
    recipients: tuple[str, ...]
    minutes: int
    days_ago: int  # the service date, counted back from the first run (negative: ahead)
    description: str
    outcome: Outcome
    listing: str | None = None  # title of a listing of one of the parties


@dataclass(frozen=True, slots=True)
class DemoRecord:
    """An exchange a coordinator records for two members (it happened by phone)."""

    key: str
    coordinator: str
    provider: str
    recipient: str
    minutes: int
    days_ago: int
    description: str


@dataclass(frozen=True, slots=True)
class DemoGrant:
    """Hours a coordinator grants from the community pool."""

    key: str
    coordinator: str
    member: str
    minutes: int
    reason: str


DEMO_LISTINGS: tuple[DemoListing, ...] = (
    DemoListing(
        "tom@demo.example",
        "offer",
        "technology",
        N_("Help with phones, tablets and computers"),
        N_(
            "Setting up a new phone, video calls with family, email, online banking. Patient, "
            "and happy to write the steps down."
        ),
        N_("Weekday evenings and Saturdays"),
    ),
    DemoListing(
        "kwame@demo.example",
        "offer",
        "transport",
        N_("Lifts to appointments"),
        N_(
            "I have a car with room for a wheelchair. Hospital, surgery, optician or the "
            "shops; I can wait and bring you home."
        ),
        N_("Weekday mornings"),
    ),
    DemoListing(
        "bethan@demo.example",
        "offer",
        "cooking",
        N_("Batch cooking and cooking lessons"),
        N_(
            "Learn a few cheap, filling meals for the week, or I can cook a batch for your freezer."
        ),
        N_("Sunday afternoons"),
    ),
    DemoListing(
        "aisha@demo.example",
        "offer",
        "admin",
        N_("Help with forms and letters"),
        N_(
            "Pension, council tax and benefit forms; letters to the council or the bank. I "
            "read carefully and explain."
        ),
        N_("Tuesday and Thursday evenings"),
    ),
    DemoListing(
        "oliver@demo.example",
        "offer",
        "household",
        N_("Flat-pack furniture and small repairs"),
        N_("Assembling furniture, putting up shelves and curtain rails, fixing dripping taps."),
        N_("Weekends"),
    ),
    DemoListing(
        "george@demo.example",
        "offer",
        "learning",
        N_("Chess for beginners"),
        N_("Forty years of club chess. Children and adults welcome; I bring the board."),
        N_("Any afternoon"),
    ),
    DemoListing(
        "callum@demo.example",
        "offer",
        "gardening",
        N_("Lawn mowing and hedge trimming"),
        N_("I have my own mower and trimmer. Small gardens, front or back."),
        N_("Saturday mornings"),
    ),
    DemoListing(
        "fatima@demo.example",
        "offer",
        "companionship",
        N_("Friendly visits and a cup of tea"),
        N_(
            "A chat, a walk round the park, or help writing to family. I speak English, "
            "Bengali and Urdu."
        ),
    ),
    DemoListing(
        "margaret@demo.example",
        "request",
        "shopping",
        N_("Weekly shop from the Co-op"),
        N_("I can no longer carry heavy bags. I will give you the list and the money."),
        N_("Friday mornings"),
    ),
    DemoListing(
        "doreen@demo.example",
        "request",
        "companionship",
        N_("Someone to chat with on Sunday afternoons"),
        N_("I live on my own and Sundays are long. I love talking about old films."),
        N_("Sunday afternoons"),
    ),
    DemoListing(
        "george@demo.example",
        "request",
        "gardening",
        N_("Help to tidy my back garden"),
        N_("The brambles have won. I can supervise and make the tea."),
    ),
    DemoListing(
        "patricia@demo.example",
        "request",
        "pets",
        N_("Dog walking while I recover from a hip operation"),
        N_("Biscuit is a gentle old spaniel who needs twenty minutes twice a day."),
        N_("Mornings and early evenings"),
    ),
    DemoListing(
        "aisha@demo.example",
        "request",
        "family",
        N_("School pick-up on Wednesdays"),
        N_("Walking my son (8) home from Church End Primary at 3:15."),
        N_("Wednesdays"),
    ),
    DemoListing(
        "callum@demo.example",
        "request",
        "admin",
        N_("Help writing a job application"),
        N_("Looking for someone to read my CV and cover letter."),
    ),
)

DEMO_EXCHANGES: tuple[DemoExchange, ...] = (
    DemoExchange(
        "demo:exchange:new-phone",
        "margaret@demo.example",
        "tom@demo.example",
        ("margaret@demo.example",),
        60,
        170,
        N_("Setting up a new phone"),
        "completed",
        listing=N_("Help with phones, tablets and computers"),
    ),
    DemoExchange(
        "demo:exchange:hospital-lift",
        "kwame@demo.example",
        "kwame@demo.example",
        ("doreen@demo.example",),
        90,
        150,
        N_("Lift to the hospital and back"),
        "completed",
        listing=N_("Lifts to appointments"),
    ),
    DemoExchange(
        "demo:exchange:cooking-class",
        "bethan@demo.example",
        "bethan@demo.example",
        ("oliver@demo.example", "tom@demo.example", "aisha@demo.example"),
        120,
        125,
        N_("Batch cooking class for three"),
        "completed",
        listing=N_("Batch cooking and cooking lessons"),
    ),
    DemoExchange(
        "demo:exchange:pension-letter",
        "george@demo.example",
        "aisha@demo.example",
        ("george@demo.example",),
        45,
        100,
        N_("Help with a pension letter"),
        "completed",
        listing=N_("Help with forms and letters"),
    ),
    DemoExchange(
        "demo:exchange:back-garden",
        "oliver@demo.example",
        "oliver@demo.example",
        ("george@demo.example",),
        120,
        80,
        N_("Tidying the back garden"),
        "completed",
        listing=N_("Help to tidy my back garden"),
    ),
    DemoExchange(
        "demo:exchange:weekly-shop",
        "aisha@demo.example",
        "aisha@demo.example",
        ("margaret@demo.example",),
        60,
        60,
        N_("The weekly shop"),
        "completed",
        listing=N_("Weekly shop from the Co-op"),
    ),
    DemoExchange(
        "demo:exchange:dog-walks",
        "callum@demo.example",
        "callum@demo.example",
        ("patricia@demo.example",),
        60,
        45,
        N_("A week of walks with Biscuit"),
        "completed",
        listing=N_("Dog walking while I recover from a hip operation"),
    ),
    DemoExchange(
        "demo:exchange:job-application",
        "callum@demo.example",
        "fatima@demo.example",
        ("callum@demo.example",),
        90,
        35,
        N_("Reading through a job application"),
        "completed",
        listing=N_("Help writing a job application"),
    ),
    DemoExchange(
        "demo:exchange:wardrobe",
        "kwame@demo.example",
        "oliver@demo.example",
        ("kwame@demo.example",),
        75,
        28,
        N_("Putting a wardrobe together"),
        "completed",
        listing=N_("Flat-pack furniture and small repairs"),
    ),
    DemoExchange(
        "demo:exchange:sunday-chat",
        "tom@demo.example",
        "tom@demo.example",
        ("doreen@demo.example",),
        60,
        14,
        N_("A Sunday afternoon chat about old films"),
        "completed",
        listing=N_("Someone to chat with on Sunday afternoons"),
    ),
    DemoExchange(
        "demo:exchange:video-call",
        "george@demo.example",
        "tom@demo.example",
        ("george@demo.example",),
        30,
        6,
        N_("Setting up video calls with the grandchildren"),
        "completed",
    ),
    DemoExchange(
        "demo:exchange:optician-lift",
        "margaret@demo.example",
        "kwame@demo.example",
        ("margaret@demo.example",),
        60,
        2,
        N_("Lift to the optician"),
        "accepted",
        listing=N_("Lifts to appointments"),
    ),
    DemoExchange(
        "demo:exchange:printer",
        "aisha@demo.example",
        "tom@demo.example",
        ("aisha@demo.example",),
        45,
        -3,
        N_("Getting the printer to work with the laptop"),
        "proposed",
        listing=N_("Help with phones, tablets and computers"),
    ),
    DemoExchange(
        "demo:exchange:sunday-lunch",
        "bethan@demo.example",
        "bethan@demo.example",
        ("doreen@demo.example",),
        90,
        20,
        N_("Cooking Sunday lunch together"),
        "cancelled",
    ),
)

DEMO_RECORDS: tuple[DemoRecord, ...] = (
    DemoRecord(
        "demo:record:reading-the-post",
        "coordinator@demo.example",
        "george@demo.example",
        "doreen@demo.example",
        60,
        40,
        N_("Reading the post aloud and sorting the bills"),
    ),
)

DEMO_GRANTS: tuple[DemoGrant, ...] = (
    DemoGrant(
        "demo:grant:weekly-visits",
        "coordinator@demo.example",
        "doreen@demo.example",
        45,
        N_("Extra hours for weekly visits over the winter"),
    ),
)
