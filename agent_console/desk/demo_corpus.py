"""Words the demo data is made of: organizations, people, and plausible support requests
in the handbook's world (loyalty and rewards platform, Portal, Virtual Terminal)."""

from __future__ import annotations

#: (name, e-mail domain, contract policy or None)
ORGANIZATIONS = [
    ("Northwind Rewards", "northwind.example", None),
    ("Acme Loyalty", "acme-loyalty.example", None),
    ("Bluebird Bank", "bluebird.example", "enterprise-plus"),
    ("Cedar Grocers", "cedargrocers.example", None),
    ("Globex Retail", "globex.example", None),
    ("Initech Cards", "initech.example", None),
    ("Umbrella Travel", "umbrella-travel.example", None),
    ("Vandelay Imports", "vandelay.example", None),
]

FIRST_NAMES = [
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas",
    "Keira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Adams", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Lopez", "Murphy", "Novak", "Okafor", "Patel", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Young", "Zhang",
]

#: handle, name, tier, on call, lead
AGENTS = [
    ("demo", "Demo Agent", 1, False, False),
    ("alice", "Alice Moreno", 1, True, False),
    ("bruno", "Bruno Keller", 1, False, False),
    ("carmen", "Carmen Ortiz", 1, False, False),
    ("dmitri", "Dmitri Volkov", 1, True, False),
    ("erin", "Erin O'Neill", 1, False, True),
    ("femi", "Femi Adeyemi", 2, True, False),
    ("greta", "Greta Lindqvist", 2, False, True),
    ("hassan", "Hassan Nadeem", 2, False, False),
    ("ines", "Ines Duarte", 3, True, False),
    ("jun", "Jun Takahashi", 3, False, True),
]

PROGRAMS = ["Gold Tier", "Fuel Rewards", "Cashback Plus", "Travel Miles", "Family Club"]
FEATURES = ["bulk offer upload", "segment export", "SSO login", "custom receipts", "API keys"]
ERRORS = ["E1042", "E2210", "TX-503", "AUTH-17", "VT-88", "RW-301"]
MERCHANTS = ["store #114", "the downtown branch", "our web shop", "all POS terminals"]

#: request type -> [(subject template, body template)]
REQUESTS = {
    "inoperable": [
        ("Virtual Terminal transactions failing with {error}",
         "Since this morning every transaction at {merchant} fails with {error}. Cashiers "
         "cannot complete sales. We restarted the terminals, no change."),
        ("Rewards not posting for {program} members",
         "Points for {program} purchases made yesterday have not posted. Members are calling "
         "our stores. Example card ending 4821, receipt attached."),
        ("Portal login loops back to the sign-in page",
         "Several of our managers cannot log in to the Portal; after entering the password it "
         "returns to the sign-in page. Cleared cookies, tried two browsers."),
        ("Offer emails sent twice to {program}",
         "Customers in {program} received the same offer email twice today. Please check the "
         "campaign scheduler."),
        ("Transaction report is empty for last week",
         "The weekly transaction report for {merchant} shows no rows for last week although "
         "we had normal sales."),
    ],
    "added": [
        ("Please enable {feature} for our account",
         "We would like {feature} enabled for our team. Our contract mentions it. Who should "
         "approve this on our side?"),
        ("Add Portal access for a new store manager",
         "Please add Portal access (reporting only) for our new manager at {merchant}."),
    ],
    "desired": [
        ("Feature request: {feature} in the Virtual Terminal",
         "It would save our staff a lot of time if the Virtual Terminal supported {feature}. "
         "Is this on your roadmap?"),
        ("Idea: scheduled exports of {program} activity",
         "We would love a nightly export of {program} activity to our SFTP server."),
    ],
    "question": [
        ("How do I refund a reward redemption?",
         "A member redeemed points by mistake at {merchant}. How do I refund the redemption "
         "so the points return to their balance?"),
        ("When is the next maintenance window?",
         "We are planning a promotion launch. When is your next maintenance window, and will "
         "the Portal be unavailable?"),
        ("Question about response times for urgent issues",
         "What response time can we expect for an urgent issue outside business hours?"),
        ("How to export the {program} member list",
         "Where in the Portal can I export the member list of {program}?"),
    ],
}

REPLIES = [
    "Thanks for reporting this. I am looking into it now and will update you within the hour.",
    "I have reproduced the problem on our side and passed the details to our team.",
    "Could you send the exact time of one failing transaction and the terminal ID?",
    "This is described in our knowledge base; I have linked the article below.",
    "We have applied a fix; could you confirm that it works for you now?",
]
NOTES = [
    "Checked the logs: errors started after the 00:00 maintenance window.",
    "Customer is on the enterprise contract, keep the status updates tight.",
    "Same symptom as last week's incident, see linked article.",
]
HANDOFFS = [
    "Found: failures only on terminals with firmware 4.2. Tried: restart, re-pairing, "
    "clearing the offline queue. Needs integration review.",
    "Found: points job skipped the {program} batch. Tried: manual re-run from the Portal "
    "(not permitted at tier 1). Please re-run the batch and check the scheduler.",
    "Found: stack trace in the export service (NullPointerException in ReportWriter). "
    "Tried: smaller date ranges, same error. Looks code-level.",
]
