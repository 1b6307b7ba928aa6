"""The fixed vocabulary of the sandbox firm: roles and rates, entities, names, engagements.

Everything here is constant data; the generator draws from it with a seeded generator, so a seed
always picks the same names, the same customers and the same rates.
"""

from __future__ import annotations

from decimal import Decimal

FIRM_NAME = "Meridian Advisory"
ROLES = ("Partner", "Senior Consultant", "Consultant", "Analyst")
ROLE_SHARES = (0.08, 0.25, 0.40, 0.27)  # of the consultants, by role
BASE_RATES_USD = {"Partner": 300, "Senior Consultant": 220, "Consultant": 160, "Analyst": 110}
COST_RATES_USD = {"Partner": 150, "Senior Consultant": 105, "Consultant": 75, "Analyst": 50}
UNCARDED_ROLE = "Data Scientist"  # a role no rate card prices (the rate_card_missing fault)
RATE_FACTORS = (Decimal("0.9"), Decimal("1.0"), Decimal("1.1"), Decimal("1.2"))
YEARLY_INCREASE = Decimal("1.04")
FX_FROM_USD = {"USD": Decimal("1"), "GBP": Decimal("0.8"), "EUR": Decimal("0.92")}
TASKS = ("Consulting", "Analysis")

# (country, currency, company suffix, region names)
ENTITIES = (
    ("US", "USD", "Inc.", ("North America East", "North America West")),
    ("GB", "GBP", "UK Ltd", ("UK & Ireland",)),
    ("DE", "EUR", "GmbH", ("DACH",)),
    ("NL", "EUR", "B.V.", ("Benelux",)),
)
# the ERPs a legal entity's books can be kept in (the names plan2cash's configuration uses)
ERPS = ("xero", "dynamics365", "oracle_fusion", "netsuite")
PRACTICES = ("Strategy", "Technology", "Operations", "Finance")
INDUSTRIES = ("Manufacturing", "Logistics", "Software", "Healthcare", "Energy", "Retail", "Media")

# fmt: off
FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas", "Keiko",
    "Liam", "Maya", "Noah", "Olga", "Priya", "Rosa", "Samir", "Tara", "Viktor", "Wen", "Yusuf",
    "Zoe", "Amir", "Bianca", "Carlos", "Dana", "Emil", "Fatima", "Gavin", "Hana", "Ivan",
)
LAST_NAMES = (
    "Archer", "Bianchi", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Urban", "Varga", "Weber", "Xu", "Young", "Zimmermann",
)
CUSTOMER_STEMS = (
    ("Acme", "ACME"), ("Globex", "GLBX"), ("Initech", "INIT"), ("Umbrella", "UMBR"),
    ("Stark", "STRK"), ("Wayne", "WAYN"), ("Hooli", "HOOL"), ("Tyrell", "TYRL"),
    ("Cyberdyne", "CYBD"), ("Soylent", "SOYL"), ("Wonka", "WONK"), ("Aperture", "APER"),
    ("Oscorp", "OSCP"), ("Vandelay", "VAND"), ("Gringotts", "GRIN"), ("Monarch", "MONA"),
)
CUSTOMER_KINDS = (
    "Industrial", "Logistics", "Software", "Health", "Energy", "Foods", "Media", "Biotech",
)
# fmt: on
ENGAGEMENTS = (
    "Operating Model Review",
    "Cost Transformation",
    "Data Strategy",
    "ERP Selection",
    "Pricing Study",
    "Supply Chain Diagnostic",
    "Cloud Migration",
    "Finance Transformation",
)
NOTES = (
    "Workshop preparation",
    "Stakeholder interviews",
    "Data request follow-up",
    "Steering committee pack",
    "Model review",
    "Client working session",
)
EXPENSE_CATEGORIES = ("Travel", "Lodging", "Meals", "Software")
OPEN_STAGES = ("Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review")
