"""Fixed reference lists (names, geography, catalogue taxonomy, URLs, browsers) the generator draws from."""

FIRST_NAMES = ["james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen", "christopher", "lisa", "daniel", "nancy", "matthew", "betty", "anthony", "margaret", "mark", "sandra", "donald", "ashley", "steven", "kimberly", "paul", "emily", "andrew", "donna", "joshua", "michelle", "kenneth", "carol", "kevin", "amanda", "brian", "dorothy", "george", "melissa", "timothy", "deborah", "ronald", "stephanie", "edward", "rebecca", "jason", "sharon", "jeffrey", "laura", "ryan", "cynthia", "jacob", "kathleen", "gary", "amy", "nicholas", "angela", "eric", "shirley", "jonathan", "anna", "stephen", "brenda", "larry", "pamela", "justin", "emma", "scott", "nicole", "brandon", "helen", "benjamin", "samantha", "samuel", "katherine", "gregory", "christine", "alexander", "debra", "frank", "rachel", "patrick", "carolyn", "raymond", "janet", "jack", "catherine", "dennis", "maria", "jerry", "heather", "tyler", "diane", "aaron", "ruth", "jose", "julie", "adam", "olivia", "nathan", "joyce", "henry", "virginia", "zachary", "victoria", "douglas", "kelly", "peter", "lauren", "kyle", "christina", "noah", "joan", "ethan", "evelyn", "jeremy", "judith", "walter", "megan", "christian", "andrea", "keith", "cheryl", "roger", "hannah", "terry", "jacqueline", "austin", "martha", "sean", "gloria", "gerald", "teresa", "carl", "ann", "harold", "sara", "dylan", "madison", "arthur", "frances", "lawrence", "kathryn", "jordan", "janice", "jesse", "jean", "bryan", "abigail", "billy", "alice", "bruce", "judy", "gabriel", "sophia", "joe", "grace", "logan", "denise", "alan", "amber", "juan", "doris", "wayne", "marilyn", "elijah", "danielle", "randy", "beverly", "roy", "isabella", "vincent", "theresa", "ralph", "diana", "eugene", "natalie", "russell", "brittany", "bobby", "charlotte", "mason", "marie", "philip", "kayla", "louis", "alexis", "hiroshi", "yuki", "priya", "arjun", "lucas", "sofia", "mateo", "valentina", "liam", "chloe"]

LAST_NAMES = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "gomez", "phillips", "evans", "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris", "morales", "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper", "peterson", "bailey", "reed", "kelly", "howard", "ramos", "kim", "cox", "ward", "richardson", "watson", "brooks", "chavez", "wood", "james", "bennett", "gray", "mendoza", "ruiz", "hughes", "price", "alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster", "jimenez", "powell", "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler", "henderson", "barnes", "gonzales", "fisher", "vasquez", "simmons", "romero", "jordan", "patterson", "alexander", "hamilton", "graham", "reynolds", "griffin", "wallace", "moreno", "west", "cole", "hayes", "bryant", "herrera", "gibson", "ellis", "tran", "medina", "aguilar", "stevens", "murray", "ford", "castro", "marshall", "owens", "harrison", "fernandez", "mcdonald", "woods", "washington", "kennedy", "wells", "vargas", "henry", "chen", "freeman", "webb", "tucker", "guzman", "burns", "crawford", "olson", "simpson", "porter", "hunter", "gordon", "mendez", "silva", "shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks", "holmes", "palmer", "wagner", "black", "robertson", "boyd", "rose", "stone", "salazar", "fox", "warren", "mills", "meyer", "rice", "schmidt", "garza", "daniels", "ferguson", "nichols", "stephens", "soto", "weaver", "ryan", "gardner", "payne", "grant", "dunn", "kelley", "spencer", "hawkins", "arnold", "pierce", "vazquez", "hansen", "peters", "santos", "hart", "bradley", "tanaka", "sato", "mueller", "schneider", "dubois", "moreau", "singh", "kumar", "oliveira", "souza"]

US_STATES = ("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC")
# Population weights of the states above (roughly proportional to residents).
US_STATE_WEIGHTS = (
    5, 1, 7, 3, 39, 6, 4, 1, 22, 11, 1, 2, 13, 7, 3, 3, 5, 5, 1, 6, 7, 10, 6, 3, 6, 1, 2, 3, 1, 9, 2, 20, 11, 1,
    12, 4, 4, 13, 1, 5, 1, 7, 30, 3, 1, 9, 8, 2, 6, 1, 1,
)

# country, home currency, preferred language, share of customers
COUNTRY_PROFILE = (
    ("US", "USD", "en", 0.84),
    ("CA", "CAD", "en", 0.04),
    ("GB", "GBP", "en", 0.03),
    ("MX", "MXN", "es", 0.025),
    ("DE", "EUR", "de", 0.02),
    ("FR", "EUR", "fr", 0.015),
    ("ES", "EUR", "es", 0.01),
    ("BR", "BRL", "pt", 0.01),
    ("IN", "INR", "en", 0.007),
    ("JP", "JPY", "ja", 0.003),
)
COUNTRIES = tuple(c[0] for c in COUNTRY_PROFILE)
LANGUAGES = ("en", "es", "fr", "de", "pt", "ja")

CATALOGUE = {
    "electronics": (("phones", "laptops", "audio", "accessories"), 4.6),
    "home": (("kitchen", "furniture", "decor", "bedding"), 4.0),
    "fashion": (("womens", "mens", "shoes", "bags"), 3.7),
    "beauty": (("skincare", "makeup", "fragrance", "haircare"), 3.1),
    "sports": (("fitness", "outdoor", "cycling", "team-sports"), 3.8),
    "books": (("fiction", "non-fiction", "childrens", "education"), 2.7),
    "grocery": (("snacks", "beverages", "pantry", "organic"), 2.2),
    "toys": (("games", "puzzles", "outdoor-play", "educational"), 3.0),
}
CATEGORIES = tuple(CATALOGUE)
SUBCATEGORIES = tuple(s for subs, _ in CATALOGUE.values() for s in subs)
SUBCATS_PER_CATEGORY = 4
CATEGORY_LOG_PRICE = tuple(mu for _, mu in CATALOGUE.values())  # log-USD median list price per category

BRANDS = (
    "Acme", "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell",
    "Cyberdyne", "Hooli", "Vandelay", "Soylent", "Wonka", "Gringotts", "Oceanic", "Aperture", "Monarch", "Virtucon",
)
MODEL_WORDS = ("Classic", "Pro", "Lite", "Max", "Mini", "Plus", "Air", "Prime", "One", "Neo", "Ultra", "Go")

_BASE = "https://shop.example.com"
PAGE_URLS = (
    f"{_BASE}/",
    f"{_BASE}/login",
    f"{_BASE}/logout",
    f"{_BASE}/search",
    f"{_BASE}/cart",
    f"{_BASE}/checkout",
    f"{_BASE}/checkout/confirm",
    f"{_BASE}/account",
    f"{_BASE}/account/settings",
    f"{_BASE}/account/payment-methods",
    f"{_BASE}/account/orders",
    f"{_BASE}/support",
    f"{_BASE}/support/contact",
    f"{_BASE}/promotions",
    f"{_BASE}/wishlist",
    *(f"{_BASE}/c/{c}" for c in CATEGORIES),
    *(f"{_BASE}/c/{c}/{s}" for c, (subs, _) in CATALOGUE.items() for s in subs),
)
URL_INDEX = {u.removeprefix(_BASE): i for i, u in enumerate(PAGE_URLS)}
BROWSE_URLS = tuple(i for u, i in URL_INDEX.items() if u.startswith("/c/") or u in ("/", "/search", "/promotions", "/wishlist", "/cart"))
FORM_URLS = tuple(URL_INDEX[u] for u in ("/checkout", "/checkout/confirm", "/account/settings", "/support/contact", "/account/payment-methods"))

BROWSERS = ("chrome", "safari", "firefox", "edge", "samsung-internet", "app-ios", "app-android", "opera", "brave", "uc-browser")
BROWSER_WEIGHTS = (0.42, 0.22, 0.06, 0.07, 0.04, 0.08, 0.08, 0.015, 0.01, 0.005)

CAMPAIGN_THEMES = (
    "welcome_series", "spring_sale", "summer_sale", "back_to_school", "black_friday", "cyber_monday",
    "holiday_gift_guide", "new_arrivals", "win_back", "loyalty_rewards", "flash_sale", "product_launch",
    "abandoned_cart", "weekly_digest", "clearance", "referral_bonus",
)
