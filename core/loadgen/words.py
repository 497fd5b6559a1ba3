"""Word lists and templates for generated load data: plausible help desk text, written for deskpilot.

Common words repeat (products, problems), names and numbers mostly do not: customer surnames are
built from syllables (thousands of them) and order numbers and error codes are random, as in a real
help desk, so searches for a customer or an order are selective and searches for a product are not.
"""

from __future__ import annotations

import random

FIRST = (
    "Ada", "Bilal", "Carmen", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ines", "Jonas", "Kwame", "Lena",
    "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar", "Umar", "Vera", "Wei", "Ximena",
    "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Dario", "Esme", "Felix", "Greta", "Hugo", "Isla", "Jun",
    "Kira", "Luca", "Maya", "Noor", "Olga", "Pablo", "Rhea", "Sami", "Theo", "Uma", "Viktor", "Wanda",
)
LAST = (
    "Abara", "Bergstrom", "Castillo", "Dubois", "Eriksen", "Fontaine", "Garcia", "Hoffmann", "Ivanova", "Jensen",
    "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi", "Schmidt", "Tanaka",
    "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zimmer", "Almeida", "Brennan", "Costa", "Delgado", "Engel",
    "Fischer", "Gallo", "Haddad", "Iqbal", "Janssen", "Keller", "Lopez", "Mensah", "Novak", "Ortiz", "Pereira",
)
SURNAME_HEAD = (
    "Ab", "Bar", "Cor", "Dal", "Eb", "Fen", "Gar", "Hol", "Ir", "Jor", "Kal", "Lind", "Mar", "Nor", "Ost", "Pel",
    "Quin", "Ros", "Sal", "Tor", "Ul", "Val", "Wes", "Yar", "Zor", "Bren", "Cas", "Dor", "Fal", "Har",
)
SURNAME_MID = ("", "er", "an", "o", "i", "el")
SURNAME_TAIL = (
    "berg", "ton", "ley", "ford", "wick", "stad", "holm", "ani", "etti", "ova", "ez", "sen", "quist", "mann",
    "court", "field", "ridge", "wood", "dale", "ski", "rud", "mont", "vik", "elli", "ardo", "as", "ius", "ey",
    "strom", "ham",
)
COMPANY_A = (
    "Northwind", "Bluebird", "Harbor", "Summit", "Maple", "Copper", "Granite", "Silverline", "Redwood", "Lakeside",
    "Brightwater", "Ironbridge", "Sunfield", "Oakridge", "Clearpath", "Foxglove", "Pinecrest", "Riverbend",
)
COMPANY_B = (
    "Traders", "Logistics", "Bakery", "Outfitters", "Clinic", "Studios", "Foods", "Labs", "Print Shop", "Garden Supply",
    "Bikes", "Books", "Dental", "Analytics", "Hardware", "Travel", "Coffee", "Robotics",
)
PRODUCTS = (
    "invoice portal", "mobile app", "label printer", "checkout page", "SSO login", "API key", "CSV export",
    "webhook", "dashboard", "billing plan", "password reset", "shipping rates", "inventory sync",
    "calendar integration", "email notifications", "team seats", "data import", "report builder",
    "payment terminal", "barcode scanner", "order history", "customer portal", "tax settings", "gift cards",
    "subscription renewal", "two-factor login", "search page", "PDF receipts", "warehouse app", "discount codes",
)
PROBLEMS = (
    "keeps crashing", "is very slow", "shows an error", "does not load", "charged us twice", "times out",
    "is missing data", "stopped syncing", "rejects our card", "logs us out", "sends duplicate emails",
    "shows the wrong totals", "freezes on startup", "cannot be opened", "returns a 500 error", "lost our settings",
    "prints blank pages", "shows old prices", "ignores the time zone", "fails after the update",
)
FEATURES = (
    "dark mode", "bulk editing", "custom fields", "a Slack integration", "export to Excel", "scheduled reports",
    "multiple currencies", "an audit log", "saved filters", "offline mode", "per-user permissions", "recurring orders",
)
ATTEMPTS = (
    "clearing the cache", "reinstalling the app", "a different browser", "logging out and back in",
    "restarting the printer", "another network", "resetting the password", "the steps in your help article",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend", "yesterday", "this morning",
        "last week", "the last update")
TEAMS = ("billing", "engineering", "logistics", "mobile", "payments", "integrations")
PLANS = ("Starter", "Growth", "Business", "Enterprise")
GREETINGS = ("Hi team,", "Hello,", "Good morning,", "Hi there,", "Dear support,", "Hey,")
CLOSINGS = ("Thanks, {first}", "Best regards, {first} {last}", "Cheers, {first}", "Kind regards, {first}",
            "Thank you! {first}", "{first} {last}")

NAME_TEMPLATES = (
    "{Product} {problem}", "Question about the {product}", "{Product}: {problem}", "Refund for order {order}",
    "Cannot use the {product}", "Feature request: {feature}", "Invoice {order} is wrong", "Help with the {product}",
    "Urgent: {product} {problem}", "{Product} after the update", "Order {order} not delivered",
    "Billing question for {company}",
)
CUSTOMER_SENTENCES = (
    "Since {day} the {product} {problem}.", "We tried {attempt} but nothing changed.", "Our order number is {order}.",
    "This affects {count} of our users.", "Could you look into it as soon as possible?",
    "The {product} worked fine until {day}.", "We are on the {plan} plan.", "Is there a workaround for now?",
    "I attached a screenshot of the {product}.", "Our customers are starting to complain.",
    "Can you tell me when this will be fixed?", "We would love to have {feature}.",
    "Please refund the duplicate charge on invoice {order}.", "Nobody on our team can log in to the {product}.",
    "It happens on every device we tried.", "We need this working before the end of the month.",
    "The error message says code {code}.", "I called yesterday but nobody picked up.",
)
AGENT_SENTENCES = (
    "Thanks for reaching out, {first}.", "I am sorry about the trouble with the {product}.",
    "I have escalated this to our {team} team.", "Could you send a screenshot of the {product}?",
    "We deployed a fix for the {product} this morning.", "Please try {attempt} and let me know.",
    "I refunded invoice {order}; it will show up in 3-5 business days.", "Can you confirm your account email?",
    "This is a known issue and we are working on it.", "I added your vote for {feature}.",
    "Your plan includes {count} seats.", "Let me know if anything else comes up.",
)
NOTE_SENTENCES = (
    "Customer is on the {plan} plan.", "Linked to bug {code}.", "Second report of this today.",
    "Asked {team} for an estimate.", "VIP account, reply within the hour.", "Refund approved by {first}.",
    "Duplicate of an older ticket about the {product}.", "Waiting for the {team} deploy.",
)


def _slots(rng: random.Random) -> dict[str, str]:
    product = rng.choice(PRODUCTS)
    return {
        "product": product, "Product": product[0].upper() + product[1:], "problem": rng.choice(PROBLEMS),
        "feature": rng.choice(FEATURES), "attempt": rng.choice(ATTEMPTS), "day": rng.choice(DAYS),
        "team": rng.choice(TEAMS), "plan": rng.choice(PLANS), "first": rng.choice(FIRST), "last": rng.choice(LAST),
        "order": str(rng.randint(10000, 99999)), "count": str(rng.choice((2, 3, 5, 12, 40, 150))),
        "code": f"{rng.choice('ABCDEFKMPX')}{rng.randint(100, 999)}", "company": company(rng),
    }


def surname(rng: random.Random) -> str:
    """A customer surname: one of the common ones, or (mostly) one of thousands built from syllables."""
    if rng.random() < 0.2:
        return rng.choice(LAST)
    return rng.choice(SURNAME_HEAD) + rng.choice(SURNAME_MID) + rng.choice(SURNAME_TAIL)


def company(rng: random.Random) -> str:
    """A company name such as 'Harbor Logistics'."""
    return f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}"


def fill(template: str, rng: random.Random) -> str:
    """Fill one template's slots with random words."""
    return template.format(**_slots(rng))


def sentence_pool(templates: tuple[str, ...], rng: random.Random, size: int) -> list[str]:
    """`size` filled sentences to compose messages from (cheaper than filling templates per message)."""
    return [fill(rng.choice(templates), rng) for _ in range(size)]


class TextMaker:
    """Composes names, descriptions and message texts from pre-built pools (cheap per message)."""

    def __init__(self, rng: random.Random, pool_size: int = 6000) -> None:
        self.rng = rng
        customer = sentence_pool(CUSTOMER_SENTENCES, rng, pool_size)
        agent = sentence_pool(AGENT_SENTENCES, rng, pool_size)
        notes = sentence_pool(NOTE_SENTENCES, rng, pool_size // 4)
        self.names = sentence_pool(NAME_TEMPLATES, rng, pool_size)
        self.descriptions = ["", ""] + [" ".join(rng.sample(customer, rng.randint(1, 2))) for _ in range(pool_size)]
        self.bodies = {
            "incoming": [" ".join(rng.sample(customer, rng.randint(1, 4))) for _ in range(pool_size * 3)],
            "outgoing": [" ".join(rng.sample(agent, rng.randint(1, 4))) for _ in range(pool_size * 3)],
            "comment": [" ".join(rng.sample(notes, rng.randint(1, 2))) for _ in range(pool_size)],
        }

    def pick(self, items: list[str] | tuple[str, ...]) -> str:
        """A uniform choice, faster than `random.choice` (no rejection sampling; the bias is negligible)."""
        return items[int(self.rng.random() * len(items))]

    def name(self) -> str:
        return self.pick(self.names)

    def description(self) -> str:
        return self.pick(self.descriptions)

    def message(self, direction: str, sender_first: str, sender_last: str) -> str:
        """A message body: greeting, 1-4 sentences and a signature (notes are one or two plain sentences)."""
        body = self.pick(self.bodies[direction])
        if direction == "comment":
            return body
        closing = self.pick(CLOSINGS).format(first=sender_first, last=sender_last)
        return f"{self.pick(GREETINGS)}\n\n{body}\n\n{closing}"
