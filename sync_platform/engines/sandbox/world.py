"""Ground-truth world generation: companies, people, our own employees and products.

The world is what "really" exists; each sandbox system sees a noisy, overlapping subset of it.
Everything is derived from `random.Random` seeded with the caller's seed, and timestamps come
from fixed base dates, so the same seed and size always give the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# Fixed time frame for seeded data (no wall clock during seeding).
BASE_CREATED = datetime(2022, 1, 1, tzinfo=UTC)
BASE_MODIFIED_END = datetime(2024, 6, 30, tzinfo=UTC)
SEED_EXPORT_TIME = datetime(2024, 7, 1, 6, 0, 0, tzinfo=UTC)
BASE_CREATED_MS = int(BASE_CREATED.timestamp() * 1000)
BASE_MODIFIED_END_MS = int(BASE_MODIFIED_END.timestamp() * 1000)
SPAN_MS = BASE_MODIFIED_END_MS - BASE_CREATED_MS

OUR_DOMAIN = "brightwave.io"

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward",
    "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen",
    "Gary", "Amy", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen",
    "Brenda", "Larry", "Pamela", "Justin", "Emma", "Scott", "Nicole", "Brandon", "Helen",
    "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Alexander", "Debra",
    "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine", "Dennis",
    "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie", "Adam",
    "Olivia", "Nathan", "Joyce", "Henry", "Virginia", "Zachary", "Victoria", "Peter", "Kelly",
    "Kyle", "Lauren", "Noah", "Christina", "Ethan", "Joan", "Jeremy", "Evelyn", "Walter",
    "Judith", "Christian", "Megan", "Keith", "Andrea", "Roger", "Cheryl", "Terry", "Hannah",
    "Austin", "Jacqueline", "Sean", "Martha", "Gerald", "Gloria", "Carl", "Teresa", "Harold",
    "Ann", "Dylan", "Sara", "Arthur", "Madison", "Lawrence", "Frances", "Jordan", "Kathryn",
    "Jesse", "Janice", "Bryan", "Jean", "Billy", "Abigail", "Bruce", "Alice", "Gabriel",
    "Judy", "Joe", "Sophia", "Logan", "Grace", "Alan", "Denise", "Juan", "Amber", "Wayne",
    "Doris", "Elijah", "Marilyn", "Randy", "Danielle", "Roy", "Beverly", "Vincent", "Isabella",
    "Ralph", "Theresa", "Eugene", "Diana", "Russell", "Natalie", "Bobby", "Brittany", "Mason",
    "Charlotte", "Philip", "Marie", "Louis", "Kayla", "Priya", "Wei", "Hiroshi", "Fatima",
    "Ahmed", "Sofia", "Lukas", "Chloe", "Mateo", "Aisha", "Jan", "Ingrid", "Pierre", "Amelie",
)

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson",
    "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson",
    "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West",
    "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar",
    "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez",
    "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman",
    "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
    "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
    "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar",
    "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson",
    "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn",
    "O'Brien", "Mueller", "Schneider", "Dubois", "Lefebvre", "Wang", "Zhang", "Singh", "Sato",
    "Kowalski", "Novak", "Fischer", "Weber", "Laurent", "MacLeod", "Van der Berg", "St. John",
)

# Namesakes injected on purpose (several different people sharing a full name).
NAMESAKES = (("John", "Smith"), ("Maria", "Garcia"), ("David", "Lee"), ("Michael", "Brown"),
             ("Jennifer", "Chen"), ("Robert", "Johnson"))

COMPANY_PREFIXES = (
    "Acme", "Summit", "Northwind", "Blue Harbor", "Pinnacle", "Evergreen", "Silverline",
    "Redwood", "Ironclad", "Brightpath", "Cascade", "Granite", "Horizon", "Keystone", "Lakeside",
    "Maple", "Meridian", "Nimbus", "Oakridge", "Orion", "Pacific", "Prairie", "Quantum",
    "Riverbend", "Sterling", "Sunrise", "Titan", "Vanguard", "Vertex", "Westfield", "Willow",
    "Apex", "Beacon", "Cobalt", "Crescent", "Delta", "Eagle", "Falcon", "Frontier", "Golden Gate",
    "Harbor", "Highland", "Juniper", "Liberty", "Lighthouse", "Magnolia", "Metro", "Monarch",
    "Mountain View", "Nova", "Oceanic", "Paragon", "Patriot", "Phoenix", "Pioneer", "Polaris",
    "Redstone", "Sapphire", "Sequoia", "Silver Creek", "Skyline", "Spectrum", "Stonebridge",
    "Trident", "Union", "Valley", "Vista", "Wildflower", "Zenith", "Atlas", "Bluebird",
    "Cedar", "Copperleaf", "Driftwood", "Emerald", "Fairview", "Foxglove", "Greenfield",
    "Hawthorne", "Ivy", "Kingsley", "Larkspur", "Lionheart", "Marigold", "Northstar",
    "Old Mill", "Peregrine", "Quarry", "Rosewood", "Saltwater", "Thornbury", "Tidewater",
    "Upland", "Whitestone", "Yellowstone", "Alder", "Bramble", "Canyon", "Dunmore", "Elmwood",
)
COMPANY_CORES = (
    "Analytics", "Logistics", "Software", "Systems", "Labs", "Manufacturing", "Foods",
    "Health", "Capital", "Partners", "Consulting", "Solutions", "Technologies", "Industries",
    "Energy", "Media", "Networks", "Robotics", "Supply", "Design", "Dynamics", "Holdings",
    "Outfitters", "Pharma", "Biotech", "Construction", "Freight", "Retail", "Studios",
    "Ventures", "Engineering", "Data", "Cloud", "Security", "Medical", "Financial",
    "Insurance", "Realty", "Apparel", "Brewing", "Coffee", "Farms", "Textiles", "Motors",
    "Aerospace", "Marine", "Learning", "Travel", "Hospitality", "Telecom",
)
COMPANY_TAILS = ("", "", "", "", " Group", " International", " Worldwide", " & Sons", " Global")

INDUSTRIES = (
    ("Technology", "COMPUTER_SOFTWARE"), ("Manufacturing", "MACHINERY"),
    ("Retail", "RETAIL"), ("Finance", "FINANCIAL_SERVICES"), ("Healthcare", "HOSPITAL_HEALTH_CARE"),
    ("Consulting", "MANAGEMENT_CONSULTING"), ("Transportation", "LOGISTICS_AND_SUPPLY_CHAIN"),
    ("Food & Beverage", "FOOD_BEVERAGES"), ("Energy", "OIL_ENERGY"), ("Media", "MEDIA_PRODUCTION"),
    ("Education", "EDUCATION_MANAGEMENT"), ("Construction", "CONSTRUCTION"),
    ("Insurance", "INSURANCE"), ("Telecommunications", "TELECOMMUNICATIONS"),
)

# (city, state/region code, country, phone country code, area code, postal generator key)
CITIES = (
    ("San Francisco", "CA", "US", "1", "415", "941"), ("Los Angeles", "CA", "US", "1", "213", "900"),
    ("San Diego", "CA", "US", "1", "619", "921"), ("San Jose", "CA", "US", "1", "408", "951"),
    ("Seattle", "WA", "US", "1", "206", "981"), ("Portland", "OR", "US", "1", "503", "972"),
    ("Denver", "CO", "US", "1", "303", "802"), ("Austin", "TX", "US", "1", "512", "787"),
    ("Dallas", "TX", "US", "1", "214", "752"), ("Houston", "TX", "US", "1", "713", "770"),
    ("Chicago", "IL", "US", "1", "312", "606"), ("Minneapolis", "MN", "US", "1", "612", "554"),
    ("Detroit", "MI", "US", "1", "313", "482"), ("Columbus", "OH", "US", "1", "614", "432"),
    ("Atlanta", "GA", "US", "1", "404", "303"), ("Miami", "FL", "US", "1", "305", "331"),
    ("Orlando", "FL", "US", "1", "407", "328"), ("Charlotte", "NC", "US", "1", "704", "282"),
    ("Raleigh", "NC", "US", "1", "919", "276"), ("Nashville", "TN", "US", "1", "615", "372"),
    ("Boston", "MA", "US", "1", "617", "021"), ("New York", "NY", "US", "1", "212", "100"),
    ("Brooklyn", "NY", "US", "1", "718", "112"), ("Philadelphia", "PA", "US", "1", "215", "191"),
    ("Pittsburgh", "PA", "US", "1", "412", "152"), ("Baltimore", "MD", "US", "1", "410", "212"),
    ("Washington", "DC", "US", "1", "202", "200"), ("Phoenix", "AZ", "US", "1", "602", "850"),
    ("Salt Lake City", "UT", "US", "1", "801", "841"), ("Las Vegas", "NV", "US", "1", "702", "891"),
    ("Kansas City", "MO", "US", "1", "816", "641"), ("St. Louis", "MO", "US", "1", "314", "631"),
    ("Indianapolis", "IN", "US", "1", "317", "462"), ("Milwaukee", "WI", "US", "1", "414", "532"),
    ("London", "", "GB", "44", "20", "UK"), ("Manchester", "", "GB", "44", "16", "UK"),
    ("Berlin", "BE", "DE", "49", "30", "DE"), ("Munich", "BY", "DE", "49", "89", "DE"),
    ("Paris", "", "FR", "33", "14", "FR"), ("Lyon", "", "FR", "33", "47", "FR"),
    ("Toronto", "ON", "CA", "1", "416", "CA"), ("Vancouver", "BC", "CA", "1", "604", "CA"),
)
# Weights: mostly US.
CITY_WEIGHTS = tuple(3 if c[2] == "US" else 1 for c in CITIES)

STREET_NAMES = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Market", "Mission", "Howard", "Broadway", "Sunset", "Madison", "Franklin", "Jefferson",
    "Lincoln", "Highland", "River", "Church", "Spring", "Valley", "Union", "Center", "Mill",
    "Harbor", "Bay", "Ridge", "Forest", "Meadow", "King", "Queen", "High", "Bridge", "Station",
)
STREET_TYPES = ("Street", "Avenue", "Boulevard", "Road", "Drive", "Lane", "Court", "Place", "Way")

TITLES = (
    "CEO", "CFO", "CTO", "COO", "VP of Sales", "VP of Marketing", "VP Engineering",
    "Director of Operations", "Director of Finance", "Head of Procurement", "Sales Manager",
    "Account Executive", "Marketing Manager", "Product Manager", "Software Engineer",
    "Senior Software Engineer", "Data Analyst", "Operations Manager", "Office Manager",
    "Controller", "Accounts Payable Specialist", "Purchasing Manager", "IT Manager",
    "HR Manager", "Customer Success Manager", "Project Manager", "Consultant", "Buyer",
)

DEPARTMENTS = (
    ("Engineering", ("Software Engineer", "Senior Software Engineer", "Engineering Manager",
                     "QA Engineer", "DevOps Engineer")),
    ("Sales", ("Account Executive", "Sales Development Rep", "Sales Manager")),
    ("Marketing", ("Marketing Manager", "Content Strategist", "Growth Marketer")),
    ("Finance", ("Accountant", "Financial Analyst", "Controller")),
    ("Operations", ("Operations Manager", "Warehouse Associate", "Logistics Coordinator")),
    ("Customer Support", ("Support Specialist", "Support Lead")),
    ("People", ("HR Generalist", "Recruiter")),
)

PRODUCT_ADJ = ("Classic", "Ultra", "Eco", "Pro", "Compact", "Deluxe", "Rugged", "Smart",
               "Premium", "Essential", "Heritage", "Urban", "Alpine", "Coastal", "Trail")
PRODUCT_MATERIAL = ("Cotton", "Wool", "Leather", "Steel", "Bamboo", "Canvas", "Ceramic",
                    "Merino", "Nylon", "Oak", "Aluminum", "Linen", "Glass", "Cork")
PRODUCT_NOUN = (
    ("Backpack", "Bags"), ("Water Bottle", "Drinkware"), ("Mug", "Drinkware"),
    ("Jacket", "Apparel"), ("T-Shirt", "Apparel"), ("Beanie", "Apparel"), ("Socks", "Apparel"),
    ("Tent", "Camping"), ("Lantern", "Camping"), ("Sleeping Bag", "Camping"),
    ("Notebook", "Stationery"), ("Desk Lamp", "Home"), ("Blanket", "Home"), ("Chair", "Home"),
    ("Headphones", "Electronics"), ("Charger", "Electronics"), ("Wallet", "Accessories"),
    ("Sunglasses", "Accessories"), ("Cutting Board", "Kitchen"), ("Knife Set", "Kitchen"),
)
PRODUCT_VENDORS = ("Brightwave Goods", "Trailhead Supply", "Northbound Co.", "Kestrel Outfitters",
                   "Harbor & Pine", "Summit Gear", "Urban Nomad")

ROLE_INBOXES = ("info", "billing", "ap", "accounts", "sales", "office")


@dataclass(slots=True)
class Company:
    """A real-world company (customer or prospect)."""

    idx: int
    base: str
    suffix: str
    industry: int
    domain: str
    street: str
    city: str
    state: str
    postal: str
    country: str
    phone: str  # canonical "cc|digits" switchboard
    revenue: int
    employees: int
    created_ms: int
    modified_ms: int

    @property
    def entity_id(self) -> str:
        return f"company:{self.idx:07d}"

    @property
    def legal_name(self) -> str:
        return f"{self.base} {self.suffix}"


@dataclass(slots=True)
class Person:
    """A real-world person working at a company."""

    idx: int
    first: str
    last: str
    company: int
    title: str
    email: str
    phone: str | None
    mobile: str | None
    created_ms: int
    modified_ms: int

    @property
    def entity_id(self) -> str:
        return f"person:{self.idx:07d}"


@dataclass(slots=True)
class Employee:
    """An employee of our own business."""

    idx: int
    first: str
    last: str
    email: str
    hire_date: date
    department: str
    title: str
    salary: int  # dollars per year
    active: bool
    modified_ms: int

    @property
    def entity_id(self) -> str:
        return f"employee:{self.idx:06d}"


@dataclass(slots=True)
class Product:
    """A product (one SKU) we sell."""

    idx: int
    sku: str
    title: str
    vendor: str
    product_type: str
    price_cents: int
    modified_ms: int

    @property
    def entity_id(self) -> str:
        return f"product:{self.sku}"


@dataclass
class World:
    """The whole ground truth."""

    seed: int
    size: int
    companies: list[Company]
    people: list[Person]
    employees: list[Employee]
    products: list[Product]

    def people_by_company(self) -> list[list[int]]:
        """Person indexes per company index."""
        out: list[list[int]] = [[] for _ in self.companies]
        for p in self.people:
            out[p.company].append(p.idx)
        return out


def sizes(size: int) -> tuple[int, int, int, int]:
    """(companies, people, employees, products) for a world of `size` people."""
    return max(5, size // 4), size, max(20, size // 5), max(20, size // 10)


def _postal(kind: str, rng: random.Random) -> str:
    r = rng.random
    if kind == "UK":
        letters = "ABCDEFGHJKLMNPRSTUWXY"
        return (f"{letters[int(r() * 21)]}{letters[int(r() * 21)]}{1 + int(r() * 20)} "
                f"{int(r() * 10)}{letters[int(r() * 21)]}{letters[int(r() * 21)]}")
    if kind == "CA":
        return f"M{int(r() * 10)}V {int(r() * 10)}T{int(r() * 10)}"
    if kind in ("DE", "FR"):
        return f"{10000 + int(r() * 89999):05d}"
    return f"{kind}{int(r() * 100):02d}"


def random_phone(cc: str, area: str, rng: random.Random) -> str:
    """A canonical phone "cc|national digits" in the given area."""
    r = rng.random
    if cc == "1":
        return f"1|{area}{200 + int(r() * 800)}{int(r() * 10000):04d}"
    return f"{cc}|{area}{int(r() * 100000000):08d}"


def _timestamps(rng: random.Random) -> tuple[int, int]:
    created = BASE_CREATED_MS + int(rng.random() * SPAN_MS * 0.8)
    modified = created + int(rng.random() * (BASE_MODIFIED_END_MS - created))
    return created, modified


def make_company(idx: int, rng: random.Random, used_domains: set[str],
                 base: str | None = None) -> Company:
    """Generate one company (also used by mutations for brand-new companies)."""
    r = rng.random
    if base is None:
        base = COMPANY_PREFIXES[int(r() * len(COMPANY_PREFIXES))] + " " + \
            COMPANY_CORES[int(r() * len(COMPANY_CORES))] + COMPANY_TAILS[int(r() * len(COMPANY_TAILS))]
    city = rng.choices(CITIES, CITY_WEIGHTS)[0]
    country = city[2]
    suffix = {"US": ("Inc.", "LLC", "Corp.", "Co."), "CA": ("Inc.", "Ltd"), "GB": ("Ltd", "PLC"),
              "DE": ("GmbH",), "FR": ("SAS",)}[country]
    slug = "".join(ch for ch in base.lower() if ch.isalnum())
    tld = {"US": ".com", "CA": ".ca", "GB": ".co.uk", "DE": ".de", "FR": ".fr"}[country]
    domain = slug + tld
    n = 2
    while domain in used_domains:
        domain = f"{slug}{n}{tld}"
        n += 1
    used_domains.add(domain)
    street = (f"{1 + int(r() * 9899)} {STREET_NAMES[int(r() * len(STREET_NAMES))]} "
              f"{STREET_TYPES[int(r() * len(STREET_TYPES))]}")
    created, modified = _timestamps(rng)
    employees = int(10 ** (1 + r() * 4))
    return Company(
        idx=idx, base=base, suffix=suffix[int(r() * len(suffix))], industry=int(r() * len(INDUSTRIES)),
        domain=domain, street=street, city=city[0], state=city[1], postal=_postal(city[5], rng),
        country=country, phone=random_phone(city[3], city[4], rng),
        revenue=employees * (50_000 + int(r() * 250_000)), employees=employees,
        created_ms=created, modified_ms=modified,
    )


def make_person(idx: int, company: Company, rng: random.Random, used_emails: set[str],
                name: tuple[str, str] | None = None) -> Person:
    """Generate one person at `company` (also used by mutations for new contacts)."""
    r = rng.random
    if name is None:
        first = FIRST_NAMES[int(r() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(r() * len(LAST_NAMES))]
    else:
        first, last = name
    x = r()
    if x < 0.01:
        email = f"{ROLE_INBOXES[int(r() * len(ROLE_INBOXES))]}@{company.domain}"
    else:
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        if x < 0.15:
            local = f"{first[0]}{last}".lower().replace(" ", "").replace("'", "")
        email = f"{local}@{company.domain}"
        n = 2
        while email in used_emails:
            email = f"{local}{n}@{company.domain}"
            n += 1
        used_emails.add(email)
    cc, _, digits = company.phone.partition("|")
    area = digits[:3] if cc == "1" else digits[:2]
    y = r()
    phone = company.phone if y < 0.2 else (None if y < 0.25 else random_phone(cc, area, rng))
    mobile = random_phone(cc, area, rng) if r() < 0.7 else None
    created, modified = _timestamps(rng)
    return Person(idx=idx, first=first, last=last, company=company.idx,
                  title=TITLES[int(r() * len(TITLES))], email=email, phone=phone, mobile=mobile,
                  created_ms=created, modified_ms=modified)


def make_employee(idx: int, rng: random.Random, used_emails: set[str]) -> Employee:
    """Generate one employee of our own business."""
    r = rng.random
    first = FIRST_NAMES[int(r() * len(FIRST_NAMES))]
    last = LAST_NAMES[int(r() * len(LAST_NAMES))]
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    email = f"{local}@{OUR_DOMAIN}"
    n = 2
    while email in used_emails:
        email = f"{local}{n}@{OUR_DOMAIN}"
        n += 1
    used_emails.add(email)
    dept, titles = DEPARTMENTS[int(r() * len(DEPARTMENTS))]
    hire = date(2015, 1, 1) + timedelta(days=int(r() * 3450))
    _, modified = _timestamps(rng)
    return Employee(idx=idx, first=first, last=last, email=email, hire_date=hire, department=dept,
                    title=titles[int(r() * len(titles))], salary=45_000 + int(r() * 150) * 1000,
                    active=r() < 0.9, modified_ms=modified)


def make_product(idx: int, rng: random.Random) -> Product:
    """Generate one product/SKU."""
    r = rng.random
    noun, ptype = PRODUCT_NOUN[int(r() * len(PRODUCT_NOUN))]
    title = (f"{PRODUCT_ADJ[int(r() * len(PRODUCT_ADJ))]} "
             f"{PRODUCT_MATERIAL[int(r() * len(PRODUCT_MATERIAL))]} {noun}")
    _, modified = _timestamps(rng)
    return Product(idx=idx, sku=f"SKU-{idx:06d}", title=title,
                   vendor=PRODUCT_VENDORS[int(r() * len(PRODUCT_VENDORS))], product_type=ptype,
                   price_cents=499 + int(r() * 300) * 100 + 99 - 99 * int(r() < 0.3),
                   modified_ms=modified)


def build_world(seed: int, size: int) -> World:
    """Generate the full ground truth for (seed, size)."""
    n_comp, n_people, n_emp, n_prod = sizes(size)
    rng = random.Random(f"{seed}:world")
    domains: set[str] = set()
    companies: list[Company] = []
    for i in range(n_comp):
        base = None
        # Rare hard case: a different company whose name differs only by legal suffix.
        if i > 10 and rng.random() < 0.005:
            base = companies[int(rng.random() * len(companies))].base
        companies.append(make_company(i, rng, domains, base))
    emails: set[str] = set()
    people: list[Person] = []
    r = rng.random
    for i in range(n_people):
        x = r()
        if x < 0.6 and i > 0:
            # Clustered employers: colleagues share the switchboard and the address.
            comp = companies[int(r() * r() * n_comp)]
        else:
            comp = companies[int(r() * n_comp)]
        name = NAMESAKES[int(r() * len(NAMESAKES))] if r() < 0.01 else None
        people.append(make_person(i, comp, rng, emails, name))
    emp_emails: set[str] = set()
    employees = [make_employee(i, rng, emp_emails) for i in range(n_emp)]
    products = [make_product(i + 1, rng) for i in range(n_prod)]
    return World(seed=seed, size=size, companies=companies, people=people,
                 employees=employees, products=products)
