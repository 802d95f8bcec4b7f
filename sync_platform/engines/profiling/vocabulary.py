"""Small constant word lists the semantic detector matches values against (lower case).

They are deliberately generic (common names, major cities, ISO codes), not taken from any one
source system: a value list only has to cover most values of a column to be decisive.
"""

from __future__ import annotations

from sync_platform.engines.canonical import geo
from sync_platform.engines.canonical.organizations import LEGAL_SUFFIXES

BOOLEAN_PAIRS: tuple[tuple[str, str], ...] = (
    ("true", "false"), ("t", "f"), ("yes", "no"), ("y", "n"), ("1", "0"),
    ("active", "inactive"), ("open", "closed"), ("on", "off"), ("enabled", "disabled"),
)
BOOLEAN_WORDS: tuple[str, ...] = tuple(sorted({w for pair in BOOLEAN_PAIRS for w in pair}))

# Country and state names come from the shared geo vocabulary (canonical.geo); profiling adds
# only what it needs for detection: dotted spellings and a curated ISO2 list (all ISO2 codes
# would make US state codes such as CA, DE, IN look like countries).
_ALIASES = [name for names in geo.COUNTRY_NAMES.values() for name in names]
COUNTRY_NAMES: tuple[str, ...] = tuple(sorted(
    {n.lower() for n in _ALIASES if not (n.isupper() and len(n) <= 3)} | {"u.s.", "u.s.a.", "uae"}
))
COUNTRY_ISO2: tuple[str, ...] = (
    "us", "ca", "mx", "gb", "uk", "ie", "de", "fr", "es", "pt", "it", "nl", "be", "ch", "at",
    "dk", "se", "no", "fi", "is", "pl", "cz", "hu", "ro", "bg", "gr", "tr", "ru", "ua", "il",
    "eg", "za", "ng", "ke", "ma", "in", "pk", "cn", "jp", "kr", "tw", "hk", "sg", "my", "id",
    "th", "vn", "ph", "au", "nz", "br", "ar", "cl", "co", "pe", "ve", "ae", "sa", "qa", "lu",
    "ee", "lv", "lt", "hr", "rs", "sk", "si",
)
COUNTRY_ISO3: tuple[str, ...] = tuple(sorted({n.lower() for n in _ALIASES if n.isupper() and len(n) == 3}))
COUNTRIES: tuple[str, ...] = tuple(sorted(set(COUNTRY_NAMES + COUNTRY_ISO2 + COUNTRY_ISO3)))

US_STATES: dict[str, str] = {code.lower(): name.lower() for code, name in geo.STATE_NAMES["US"].items()}
CA_PROVINCES: dict[str, str] = {code.lower(): name.lower() for code, name in geo.STATE_NAMES["CA"].items()}
STATES: tuple[str, ...] = tuple(sorted(
    set(US_STATES) | set(US_STATES.values()) | set(CA_PROVINCES) | set(CA_PROVINCES.values())
))

CITIES: tuple[str, ...] = (
    "new york", "los angeles", "chicago", "houston", "phoenix", "philadelphia", "san antonio",
    "san diego", "dallas", "san jose", "austin", "jacksonville", "fort worth", "columbus",
    "charlotte", "san francisco", "indianapolis", "seattle", "denver", "washington", "boston",
    "el paso", "nashville", "detroit", "oklahoma city", "portland", "las vegas", "memphis",
    "louisville", "baltimore", "milwaukee", "albuquerque", "tucson", "fresno", "sacramento",
    "kansas city", "mesa", "atlanta", "omaha", "colorado springs", "raleigh", "miami",
    "long beach", "virginia beach", "oakland", "minneapolis", "tulsa", "tampa", "arlington",
    "new orleans", "wichita", "cleveland", "bakersfield", "aurora", "anaheim", "honolulu",
    "santa ana", "riverside", "corpus christi", "lexington", "st. louis", "saint louis",
    "st louis", "pittsburgh", "stockton", "cincinnati", "st. paul", "saint paul", "toledo",
    "newark", "greensboro", "plano", "henderson", "lincoln", "buffalo", "fort wayne",
    "jersey city", "orlando", "durham", "madison", "salt lake city", "brooklyn", "queens",
    "manhattan", "bronx", "richmond", "boise", "spokane", "des moines", "birmingham",
    "rochester", "hartford", "providence", "cambridge", "palo alto", "mountain view",
    "irvine", "scottsdale", "ann arbor", "berkeley", "london", "manchester", "liverpool",
    "leeds", "glasgow", "edinburgh", "bristol", "dublin", "paris", "lyon", "marseille",
    "toulouse", "nice", "bordeaux", "berlin", "munich", "münchen", "hamburg", "frankfurt",
    "cologne", "köln", "stuttgart", "düsseldorf", "amsterdam", "rotterdam", "brussels",
    "antwerp", "zurich", "zürich", "geneva", "vienna", "wien", "madrid", "barcelona",
    "valencia", "lisbon", "porto", "rome", "milan", "naples", "turin", "copenhagen",
    "stockholm", "oslo", "helsinki", "warsaw", "krakow", "prague", "budapest", "athens",
    "istanbul", "moscow", "kyiv", "tel aviv", "cairo", "johannesburg", "cape town", "lagos",
    "nairobi", "mumbai", "delhi", "new delhi", "bangalore", "bengaluru", "chennai",
    "hyderabad", "beijing", "shanghai", "shenzhen", "hong kong", "tokyo", "osaka", "seoul",
    "taipei", "singapore", "kuala lumpur", "jakarta", "bangkok", "manila", "sydney",
    "melbourne", "brisbane", "perth", "auckland", "wellington", "toronto", "montreal",
    "vancouver", "calgary", "ottawa", "edmonton", "winnipeg", "quebec city", "mexico city",
    "guadalajara", "monterrey", "são paulo", "sao paulo", "rio de janeiro", "buenos aires",
    "santiago", "bogota", "bogotá", "lima", "dubai", "abu dhabi", "riyadh", "doha",
)

FIRST_NAMES: tuple[str, ...] = (
    "james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas",
    "charles", "christopher", "daniel", "matthew", "anthony", "mark", "donald", "steven",
    "paul", "andrew", "joshua", "kenneth", "kevin", "brian", "george", "timothy", "ronald",
    "edward", "jason", "jeffrey", "ryan", "jacob", "gary", "nicholas", "eric", "jonathan",
    "stephen", "larry", "justin", "scott", "brandon", "benjamin", "samuel", "gregory",
    "alexander", "frank", "patrick", "raymond", "jack", "dennis", "jerry", "tyler", "aaron",
    "jose", "adam", "nathan", "henry", "douglas", "zachary", "peter", "kyle", "ethan",
    "walter", "noah", "jeremy", "christian", "keith", "roger", "terry", "gerald", "harold",
    "sean", "austin", "carl", "arthur", "lawrence", "dylan", "jesse", "jordan", "bryan",
    "billy", "joe", "bruce", "gabriel", "logan", "albert", "willie", "alan", "juan", "wayne",
    "elijah", "randy", "roy", "vincent", "ralph", "eugene", "russell", "bobby", "mason",
    "philip", "louis", "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara",
    "susan", "jessica", "sarah", "karen", "lisa", "nancy", "betty", "margaret", "sandra",
    "ashley", "kimberly", "emily", "donna", "michelle", "carol", "amanda", "dorothy",
    "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia", "kathleen",
    "amy", "angela", "shirley", "anna", "brenda", "pamela", "emma", "nicole", "helen",
    "samantha", "katherine", "christine", "debra", "rachel", "carolyn", "janet", "catherine",
    "maria", "heather", "diane", "ruth", "julie", "olivia", "joyce", "virginia", "victoria",
    "kelly", "lauren", "christina", "joan", "evelyn", "judith", "megan", "andrea", "cheryl",
    "hannah", "jacqueline", "martha", "gloria", "teresa", "ann", "sara", "madison", "frances",
    "kathryn", "janice", "jean", "abigail", "alice", "judy", "sophia", "grace", "denise",
    "amber", "doris", "marilyn", "danielle", "beverly", "isabella", "theresa", "diana",
    "natalie", "brittany", "charlotte", "marie", "kayla", "alexis", "lori", "mia", "ava",
    "chloe", "ella", "lucas", "liam", "oliver", "mateo", "leo", "luis", "carlos", "miguel",
    "diego", "sofia", "lucia", "camila", "valentina", "fatima", "aisha", "omar", "ahmed",
    "mohammed", "muhammad", "ali", "hassan", "priya", "raj", "rahul", "amit", "anil",
    "sanjay", "deepak", "wei", "li", "ming", "jun", "yan", "hiroshi", "yuki", "kenji", "akira",
    "haruto", "min", "ji-woo", "seo-yeon", "hans", "klaus", "jürgen", "stefan", "lukas",
    "anna-lena", "pierre", "jean-luc", "marie-claire", "francois", "françois", "camille",
    "nora", "ingrid", "lars", "sven", "olga", "ivan", "dmitri", "elena", "irina", "giulia",
    "marco", "giovanni", "kate", "katie", "kathy", "kim", "jim", "jimmy", "mike", "bob",
    "bill", "will", "tom", "tony", "dave", "chris", "matt", "nick", "steve", "dan", "danny",
    "sam", "alex", "andy", "ben", "ron", "ken", "greg", "jeff", "jon", "pat", "rick",
    "rob", "joey", "liz", "beth", "betsy", "jenny", "jen", "sue", "sally", "maggie", "peggy",
    "meg", "becky", "vicky", "debbie", "cathy", "patty", "trish", "cindy", "sandy", "terri",
    "abby", "josh", "zach", "nate", "tim", "larry", "gerry", "ray", "phil", "walt", "al",
    "ed", "eddie", "ted", "fred", "frank", "hank", "harry", "charlie", "chuck", "jane",
    "julia", "rose", "ruby", "lily", "zoe", "leah", "claire", "audrey", "eleanor", "stella",
)

LAST_NAMES: tuple[str, ...] = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
    "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas",
    "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris",
    "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king",
    "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson",
    "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "gomez",
    "phillips", "evans", "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes",
    "stewart", "morris", "morales", "murphy", "cook", "rogers", "gutierrez", "ortiz",
    "morgan", "cooper", "peterson", "bailey", "reed", "kelly", "howard", "ramos", "kim",
    "cox", "ward", "richardson", "watson", "brooks", "chavez", "wood", "james", "bennett",
    "gray", "mendoza", "ruiz", "hughes", "price", "alvarez", "castillo", "sanders", "patel",
    "myers", "long", "ross", "foster", "jimenez", "powell", "jenkins", "perry", "russell",
    "sullivan", "bell", "coleman", "butler", "henderson", "barnes", "gonzales", "fisher",
    "vasquez", "simmons", "romero", "jordan", "patterson", "alexander", "hamilton", "graham",
    "reynolds", "griffin", "wallace", "moreno", "west", "cole", "hayes", "bryant", "herrera",
    "gibson", "ellis", "tran", "medina", "aguilar", "stevens", "murray", "ford", "castro",
    "marshall", "owens", "harrison", "fernandez", "mcdonald", "woods", "washington",
    "kennedy", "wells", "vargas", "henry", "chen", "freeman", "webb", "tucker", "guzman",
    "burns", "crawford", "olson", "simpson", "porter", "hunter", "gordon", "mendez", "silva",
    "shaw", "snyder", "mason", "dixon", "munoz", "muñoz", "hunt", "hicks", "holmes", "palmer",
    "wagner", "black", "robertson", "boyd", "rose", "stone", "salazar", "fox", "warren",
    "mills", "meyer", "rice", "schmidt", "garza", "daniels", "ferguson", "nichols", "stephens",
    "soto", "weaver", "ryan", "gardner", "payne", "grant", "dunn", "kelley", "spencer",
    "hawkins", "arnold", "pierce", "vazquez", "hansen", "peters", "santos", "hart", "bradley",
    "knight", "elliott", "cunningham", "duncan", "armstrong", "hudson", "carroll", "lane",
    "riley", "andrews", "alvarado", "ray", "delgado", "berry", "perkins", "hoffman",
    "johnston", "matthews", "pena", "richards", "contreras", "willis", "carpenter",
    "lawrence", "sandoval", "wang", "li", "zhang", "liu", "yang", "huang", "zhao", "wu",
    "zhou", "xu", "sun", "ma", "zhu", "hu", "lin", "kumar", "singh", "sharma", "gupta",
    "shah", "khan", "ali", "ahmed", "hussain", "park", "choi", "jung", "kang", "cho",
    "yoon", "tanaka", "suzuki", "sato", "takahashi", "watanabe", "ito", "yamamoto",
    "nakamura", "kobayashi", "müller", "mueller", "schneider", "fischer", "weber", "becker",
    "schulz", "koch", "richter", "klein", "wolf", "schröder", "neumann", "schwarz", "dubois",
    "durand", "bernard", "moreau", "laurent", "lefebvre", "leroy", "rossi", "russo",
    "ferrari", "esposito", "bianchi", "romano", "costa", "o'brien", "obrien", "o'connor",
    "o'neill", "macleod", "mcleod", "macdonald", "mckenzie", "byrne", "walsh", "doyle",
    "quinn", "fleming", "hale", "burke", "lynch", "dean", "fuller", "little", "newman",
    "lambert", "chapman", "harper", "bishop", "fowler", "hopkins", "lowe", "wheeler",
    "reid", "austin", "barrett", "day", "frazier", "rhodes", "welch", "watts", "hardy",
    "owen", "kennedy", "stanley", "chambers", "bates", "holland", "sutton", "french",
    "oliver", "lamb", "walters", "banks", "mccoy", "pearson", "curtis", "harvey", "hanson",
    "larson", "carlson", "jensen", "nielsen", "lindqvist", "johansson", "andersson",
)

NAME_TITLES: tuple[str, ...] = ("dr", "mr", "mrs", "ms", "miss", "prof", "sir", "mx")

COMPANY_SUFFIXES: tuple[str, ...] = LEGAL_SUFFIXES
COMPANY_WORDS: tuple[str, ...] = (
    "group", "holdings", "international", "worldwide", "global", "partners", "associates",
    "technologies", "technology", "tech", "solutions", "systems", "labs", "laboratories",
    "industries", "enterprises", "services", "consulting", "ventures", "capital", "bank",
    "insurance", "pharma", "pharmaceuticals", "health", "healthcare", "foods", "networks",
    "logistics", "brewing", "motors", "energy", "realty", "software", "media", "studios",
    "telecom", "supply", "outfitters", "manufacturing", "analytics", "dynamics", "biotech",
    "cloud", "retail", "freight", "construction", "engineering", "security", "marine",
    "learning", "sons", "brothers", "bros", "trading", "electronics", "foundation",
    "agency", "airlines", "financial", "investments", "properties", "robotics", "devices",
)

JOB_TITLE_WORDS: tuple[str, ...] = (
    "manager", "director", "engineer", "vp", "vice president", "president", "chief",
    "officer", "head", "analyst", "specialist", "consultant", "ceo", "cfo", "cto", "coo",
    "cio", "cmo", "cso", "controller", "buyer", "executive", "coordinator", "assistant",
    "associate", "lead", "developer", "designer", "administrator", "accountant", "recruiter",
    "representative", "generalist", "architect", "scientist", "intern", "supervisor",
    "founder", "owner", "clerk", "advisor", "technician", "partner", "secretary", "treasurer",
    "strategist", "planner", "auditor", "attorney", "counsel", "programmer", "nurse",
)

STREET_SUFFIXES: tuple[str, ...] = (
    "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "drive", "dr",
    "lane", "ln", "court", "ct", "place", "pl", "way", "parkway", "pkwy", "highway", "hwy",
    "terrace", "ter", "circle", "cir", "square", "sq", "trail", "trl", "plaza", "alley",
    "row", "crescent", "close", "strasse", "straße", "str", "rue", "weg", "gasse",
)

CURRENCY_CODES: tuple[str, ...] = (
    "usd", "eur", "gbp", "cad", "aud", "nzd", "jpy", "cny", "chf", "sek", "nok", "dkk",
    "pln", "czk", "huf", "inr", "brl", "mxn", "zar", "sgd", "hkd", "krw", "aed", "sar",
)
CURRENCY_SYMBOLS: str = "$€£¥₹"

ID_NAME_HINTS: tuple[str, ...] = (
    "id", "key", "ref", "code", "number", "no", "num", "sku", "uuid", "guid",
)
