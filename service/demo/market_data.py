"""The marketplace the demo builds: who offers and asks for what, and the planned
exchanges (with the state each should reach), recorded exchanges and pool grants.

Data only; service/demo/market.py loads it through the service functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
        "Help with phones, tablets and computers",
        "Setting up a new phone, video calls with family, email, online banking. Patient, "
        "and happy to write the steps down.",
        "Weekday evenings and Saturdays",
    ),
    DemoListing(
        "kwame@demo.example",
        "offer",
        "transport",
        "Lifts to appointments",
        "I have a car with room for a wheelchair. Hospital, surgery, optician or the "
        "shops; I can wait and bring you home.",
        "Weekday mornings",
    ),
    DemoListing(
        "bethan@demo.example",
        "offer",
        "cooking",
        "Batch cooking and cooking lessons",
        "Learn a few cheap, filling meals for the week, or I can cook a batch for your freezer.",
        "Sunday afternoons",
    ),
    DemoListing(
        "aisha@demo.example",
        "offer",
        "admin",
        "Help with forms and letters",
        "Pension, council tax and benefit forms; letters to the council or the bank. I "
        "read carefully and explain.",
        "Tuesday and Thursday evenings",
    ),
    DemoListing(
        "oliver@demo.example",
        "offer",
        "household",
        "Flat-pack furniture and small repairs",
        "Assembling furniture, putting up shelves and curtain rails, fixing dripping taps.",
        "Weekends",
    ),
    DemoListing(
        "george@demo.example",
        "offer",
        "learning",
        "Chess for beginners",
        "Forty years of club chess. Children and adults welcome; I bring the board.",
        "Any afternoon",
    ),
    DemoListing(
        "callum@demo.example",
        "offer",
        "gardening",
        "Lawn mowing and hedge trimming",
        "I have my own mower and trimmer. Small gardens, front or back.",
        "Saturday mornings",
    ),
    DemoListing(
        "fatima@demo.example",
        "offer",
        "companionship",
        "Friendly visits and a cup of tea",
        "A chat, a walk round the park, or help writing to family. I speak English, "
        "Bengali and Urdu.",
    ),
    DemoListing(
        "margaret@demo.example",
        "request",
        "shopping",
        "Weekly shop from the Co-op",
        "I can no longer carry heavy bags. I will give you the list and the money.",
        "Friday mornings",
    ),
    DemoListing(
        "doreen@demo.example",
        "request",
        "companionship",
        "Someone to chat with on Sunday afternoons",
        "I live on my own and Sundays are long. I love talking about old films.",
        "Sunday afternoons",
    ),
    DemoListing(
        "george@demo.example",
        "request",
        "gardening",
        "Help to tidy my back garden",
        "The brambles have won. I can supervise and make the tea.",
    ),
    DemoListing(
        "patricia@demo.example",
        "request",
        "pets",
        "Dog walking while I recover from a hip operation",
        "Biscuit is a gentle old spaniel who needs twenty minutes twice a day.",
        "Mornings and early evenings",
    ),
    DemoListing(
        "aisha@demo.example",
        "request",
        "family",
        "School pick-up on Wednesdays",
        "Walking my son (8) home from Church End Primary at 3:15.",
        "Wednesdays",
    ),
    DemoListing(
        "callum@demo.example",
        "request",
        "admin",
        "Help writing a job application",
        "Looking for someone to read my CV and cover letter.",
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
        "Setting up a new phone",
        "completed",
        listing="Help with phones, tablets and computers",
    ),
    DemoExchange(
        "demo:exchange:hospital-lift",
        "kwame@demo.example",
        "kwame@demo.example",
        ("doreen@demo.example",),
        90,
        150,
        "Lift to the hospital and back",
        "completed",
        listing="Lifts to appointments",
    ),
    DemoExchange(
        "demo:exchange:cooking-class",
        "bethan@demo.example",
        "bethan@demo.example",
        ("oliver@demo.example", "tom@demo.example", "aisha@demo.example"),
        120,
        125,
        "Batch cooking class for three",
        "completed",
        listing="Batch cooking and cooking lessons",
    ),
    DemoExchange(
        "demo:exchange:pension-letter",
        "george@demo.example",
        "aisha@demo.example",
        ("george@demo.example",),
        45,
        100,
        "Help with a pension letter",
        "completed",
        listing="Help with forms and letters",
    ),
    DemoExchange(
        "demo:exchange:back-garden",
        "oliver@demo.example",
        "oliver@demo.example",
        ("george@demo.example",),
        120,
        80,
        "Tidying the back garden",
        "completed",
        listing="Help to tidy my back garden",
    ),
    DemoExchange(
        "demo:exchange:weekly-shop",
        "aisha@demo.example",
        "aisha@demo.example",
        ("margaret@demo.example",),
        60,
        60,
        "The weekly shop",
        "completed",
        listing="Weekly shop from the Co-op",
    ),
    DemoExchange(
        "demo:exchange:dog-walks",
        "callum@demo.example",
        "callum@demo.example",
        ("patricia@demo.example",),
        60,
        45,
        "A week of walks with Biscuit",
        "completed",
        listing="Dog walking while I recover from a hip operation",
    ),
    DemoExchange(
        "demo:exchange:job-application",
        "callum@demo.example",
        "fatima@demo.example",
        ("callum@demo.example",),
        90,
        35,
        "Reading through a job application",
        "completed",
        listing="Help writing a job application",
    ),
    DemoExchange(
        "demo:exchange:wardrobe",
        "kwame@demo.example",
        "oliver@demo.example",
        ("kwame@demo.example",),
        75,
        28,
        "Putting a wardrobe together",
        "completed",
        listing="Flat-pack furniture and small repairs",
    ),
    DemoExchange(
        "demo:exchange:sunday-chat",
        "tom@demo.example",
        "tom@demo.example",
        ("doreen@demo.example",),
        60,
        14,
        "A Sunday afternoon chat about old films",
        "completed",
        listing="Someone to chat with on Sunday afternoons",
    ),
    DemoExchange(
        "demo:exchange:video-call",
        "george@demo.example",
        "tom@demo.example",
        ("george@demo.example",),
        30,
        6,
        "Setting up video calls with the grandchildren",
        "completed",
    ),
    DemoExchange(
        "demo:exchange:optician-lift",
        "margaret@demo.example",
        "kwame@demo.example",
        ("margaret@demo.example",),
        60,
        2,
        "Lift to the optician",
        "accepted",
        listing="Lifts to appointments",
    ),
    DemoExchange(
        "demo:exchange:printer",
        "aisha@demo.example",
        "tom@demo.example",
        ("aisha@demo.example",),
        45,
        -3,
        "Getting the printer to work with the laptop",
        "proposed",
        listing="Help with phones, tablets and computers",
    ),
    DemoExchange(
        "demo:exchange:sunday-lunch",
        "bethan@demo.example",
        "bethan@demo.example",
        ("doreen@demo.example",),
        90,
        20,
        "Cooking Sunday lunch together",
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
        "Reading the post aloud and sorting the bills",
    ),
)

DEMO_GRANTS: tuple[DemoGrant, ...] = (
    DemoGrant(
        "demo:grant:weekly-visits",
        "coordinator@demo.example",
        "doreen@demo.example",
        45,
        "Extra hours for weekly visits over the winter",
    ),
)
