"""The value tables of :mod:`benchmarks.traffic`: where visitors come from, what they use,
where they are, and what the site has. Names are the ones the real parsers give
(ua-parser's browser and system names as ``adapters/agents.py`` keeps them, the source
namer's site names), so the benchmark stores what ingestion would store.

Places: ISO 3166-1 countries (all 249, with a skew of a site read mostly in North America
and Europe), ISO 3166-2 subdivision codes as :func:`privalytics.domain.geography.location`
stores them (``DE-BE``) and real cities at the head; the long tail of smaller places is
made up from syllables (thousands of names, most seen by few visitors, so that the
k-anonymity merging of small cells has real work).
"""

from __future__ import annotations

import random


def _words(text: str) -> list[str]:
    return text.split()


# --- places ----------------------------------------------------------------------------

# ISO 3166-1 alpha-2, every assigned code.
COUNTRIES = _words(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM
BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT
GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ
TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
)

# The head of the skew, in visitors per thousand; every other country shares what is left
# by a Zipf law (the order of COUNTRIES, shuffled once).
COUNTRY_HEAD = {
    "US": 230, "DE": 95, "GB": 62, "IN": 58, "FR": 40, "CA": 34, "NL": 30, "BR": 24,
    "ES": 20, "IT": 19, "PL": 17, "AU": 17, "SE": 13, "CH": 12, "JP": 12, "RU": 10,
    "AT": 10, "BE": 9, "UA": 8, "CN": 8, "MX": 8, "TR": 7, "ID": 7, "CZ": 7, "DK": 6,
    "NO": 6, "FI": 5, "PT": 5, "IE": 5, "KR": 5, "SG": 5, "IL": 4, "AR": 4, "ZA": 4,
}  # fmt: skip

# First-level subdivisions of the head countries (the part after "CC-"), most visitors
# first; other countries get made-up numbered ones ("KE-07"), a form ISO 3166-2 uses too.
REGIONS = {
    "US": "CA TX NY FL WA IL PA MA NJ GA VA NC OH MI CO AZ MN OR MD TN IN WI MO UT CT SC AL "
    "LA KY OK NV IA KS AR NM NE DC ID NH HI ME RI MT DE SD ND AK VT WV MS WY",
    "DE": "BY NW BW BE HE NI HH SN RP SH BB TH ST HB MV SL",
    "GB": "ENG SCT WLS NIR",
    "IN": "MH KA DL TN TG UP WB GJ KL RJ HR PB AP MP OR BR AS JK UK CT",
    "FR": "IDF ARA PAC OCC NAQ HDF GES PDL BRE NOR BFC CVL COR",
    "CA": "ON QC BC AB MB SK NS NB NL PE",
    "NL": "NH ZH UT NB GE OV LI GR FR DR FL ZE",
    "BR": "SP RJ MG RS PR SC BA DF PE CE GO ES",
    "ES": "MD CT AN VC PV GA CL AR MC AS IB CN NC EX CB RI CM",
    "IT": "25 62 21 34 45 52 72 82 75 42 36 32 57 88 55 78 65",
    "PL": "14 12 24 30 02 22 10 32 28 06 18 20 16 04 26 08",
    "AU": "NSW VIC QLD WA SA ACT TAS NT",
    "SE": "AB O M E C Z AC D U BD",
    "CH": "ZH BE VD GE BS AG SG LU TI VS BL ZG FR SO",
    "JP": "13 27 14 23 01 40 11 12 28 26 22 34",
    "AT": "9 3 6 4 7 5 2 8 1",
    "BE": "BRU VLG WAL",
}

# Real cities at the head of their region, most visitors first.
CITIES = {
    "US-CA": "Los Angeles,San Francisco,San Diego,San Jose,Sacramento,Oakland,Palo Alto,"
    "Mountain View,Irvine,Santa Clara",
    "US-TX": "Austin,Houston,Dallas,San Antonio,Fort Worth,Plano",
    "US-NY": "New York,Brooklyn,Buffalo,Rochester,Albany",
    "US-FL": "Miami,Orlando,Tampa,Jacksonville",
    "US-WA": "Seattle,Redmond,Bellevue,Spokane,Tacoma",
    "US-IL": "Chicago,Naperville,Springfield",
    "US-MA": "Boston,Cambridge,Somerville,Worcester",
    "US-PA": "Philadelphia,Pittsburgh",
    "US-GA": "Atlanta,Savannah",
    "US-CO": "Denver,Boulder,Colorado Springs",
    "US-OR": "Portland,Eugene",
    "DE-BY": "München,Nürnberg,Augsburg,Regensburg,Würzburg,Ingolstadt,Erlangen",
    "DE-NW": "Köln,Düsseldorf,Dortmund,Essen,Duisburg,Bochum,Bonn,Münster,Aachen,Bielefeld",
    "DE-BW": "Stuttgart,Karlsruhe,Mannheim,Freiburg,Heidelberg,Ulm",
    "DE-BE": "Berlin",
    "DE-HE": "Frankfurt am Main,Wiesbaden,Darmstadt,Kassel",
    "DE-NI": "Hannover,Braunschweig,Oldenburg,Osnabrück,Göttingen",
    "DE-HH": "Hamburg",
    "DE-SN": "Leipzig,Dresden,Chemnitz",
    "GB-ENG": "London,Manchester,Birmingham,Leeds,Bristol,Cambridge,Oxford,Liverpool,"
    "Sheffield,Newcastle upon Tyne,Nottingham,Brighton",
    "GB-SCT": "Edinburgh,Glasgow,Aberdeen,Dundee",
    "GB-WLS": "Cardiff,Swansea",
    "GB-NIR": "Belfast",
    "IN-MH": "Mumbai,Pune,Nagpur",
    "IN-KA": "Bengaluru,Mysuru",
    "IN-DL": "New Delhi,Delhi",
    "IN-TN": "Chennai,Coimbatore",
    "IN-TG": "Hyderabad",
    "FR-IDF": "Paris,Boulogne-Billancourt,Versailles,Saint-Denis",
    "FR-ARA": "Lyon,Grenoble,Clermont-Ferrand",
    "FR-PAC": "Marseille,Nice",
    "FR-OCC": "Toulouse,Montpellier",
    "FR-NAQ": "Bordeaux",
    "CA-ON": "Toronto,Ottawa,Waterloo,Mississauga,Hamilton",
    "CA-QC": "Montréal,Québec",
    "CA-BC": "Vancouver,Victoria,Burnaby",
    "CA-AB": "Calgary,Edmonton",
    "NL-NH": "Amsterdam,Haarlem",
    "NL-ZH": "Rotterdam,Den Haag,Leiden,Delft",
    "NL-UT": "Utrecht,Amersfoort",
    "NL-NB": "Eindhoven,Tilburg",
    "BR-SP": "São Paulo,Campinas",
    "BR-RJ": "Rio de Janeiro",
    "ES-MD": "Madrid",
    "ES-CT": "Barcelona,Girona",
    "ES-VC": "Valencia,Alicante",
    "IT-25": "Milano,Bergamo,Brescia",
    "IT-62": "Roma",
    "IT-21": "Torino",
    "PL-14": "Warszawa",
    "PL-12": "Kraków",
    "PL-02": "Wrocław",
    "AU-NSW": "Sydney,Newcastle",
    "AU-VIC": "Melbourne,Geelong",
    "AU-QLD": "Brisbane,Gold Coast",
    "SE-AB": "Stockholm,Solna",
    "SE-O": "Göteborg",
    "SE-M": "Malmö,Lund",
    "CH-ZH": "Zürich,Winterthur",
    "CH-BE": "Bern",
    "CH-VD": "Lausanne",
    "CH-GE": "Genève",
    "JP-13": "Tokyo",
    "JP-27": "Osaka",
    "AT-9": "Wien",
    "AT-6": "Graz",
    "AT-4": "Linz",
    "BE-BRU": "Brussels",
    "BE-VLG": "Antwerpen,Gent,Leuven",
}

_PREFIXES = ("", "", "", "", *_words("New North South East West Port Saint Bad San Upper"))
_PREFIXES = tuple(f"{word} " if word else "" for word in _PREFIXES)
_ROOTS = _words(
    "Ash Bel Cor Dun El Fair Glen Hal Ivy Kings Lin Mar Nor Oak Pen Ros Sal Tor Val Wes Bran "
    "Cal Dor Fen Gar Har Kel Lor Mil Ner Or Quin Red Sil Tam Ul Vin Wil Yar Zel Alt Bir Char "
    "Dal Eck Frei Grun Hoch Isen Jor Karl Lud Mein Neu Ober Pfaf Rein Stein Thal Wald"
)
_SUFFIXES = _words(
    "ton ville burg field ford heim dale mouth stad berg wick bury haven port minster borough "
    "by thorpe hausen dorf brook cliff more ley stead wood ingen au"
)


def made_up_place(rng: random.Random) -> str:
    """A made-up town name ("North Kelford", "Bad Steinau")."""
    prefix = _PREFIXES[int(rng.random() * len(_PREFIXES))]
    root = _ROOTS[int(rng.random() * len(_ROOTS))]
    return prefix + root + _SUFFIXES[int(rng.random() * len(_SUFFIXES))]


# --- what visitors use -------------------------------------------------------------------

# (system, share in percent, device classes and weights, browsers and weights). ua-parser
# names; a browser's versions come from RELEASES, a system's from OS_VERSIONS.
PLATFORMS: tuple[tuple[str | None, float, dict[str, float], dict[str | None, float]], ...] = (
    ("Windows", 30.5, {"desktop": 50, "laptop": 48, "tablet": 2},
     {"Chrome": 62, "Edge": 17, "Firefox": 12, "Opera": 4, "Yandex Browser": 1.5, "Vivaldi": 1}),
    ("iOS", 24, {"mobile": 86, "tablet": 14},
     {"Safari": 80, "Chrome": 10, "Mobile App": 6, "Firefox": 2, "Edge": 1}),
    ("Android", 23, {"mobile": 90, "tablet": 10},
     {"Chrome": 66, "Samsung Internet": 15, "Mobile App": 7, "Firefox": 4, "Opera": 3,
      "Edge": 1, "UC Browser": 1, "DuckDuckGo Mobile": 1, "Yandex Browser": 1}),
    ("Mac OS X", 16, {"laptop": 62, "desktop": 38},
     {"Safari": 45, "Chrome": 40, "Firefox": 9, "Edge": 3, "Opera": 1.5, "Vivaldi": 0.5}),
    ("Linux", 3.2, {"laptop": 50, "desktop": 50},
     {"Firefox": 50, "Chrome": 42, "Chromium": 5, "Opera": 3}),
    ("Chrome OS", 1.2, {"laptop": 95, "tablet": 5}, {"Chrome": 100}),
    ("Ubuntu", 0.6, {"laptop": 50, "desktop": 50}, {"Firefox": 100}),
    # An agent no rule reads: neither browser nor system is known.
    (None, 1.5, {"desktop": 60, "mobile": 40}, {None: 100}),
)  # fmt: skip

# Browser major versions: (the version released on the day, that day as days since
# 2024-01-01, days between majors). Evergreen browsers move every four weeks.
RELEASES = {
    "Chrome": (131, 316, 28),
    "Edge": (131, 319, 28),
    "Chromium": (131, 316, 28),
    "Firefox": (133, 330, 28),
    "Opera": (115, 331, 35),
    "Safari": (18, 259, 365),
    "Samsung Internet": (27, 319, 105),
    "Vivaldi": (7, 296, 120),
    "Yandex Browser": (24, 0, 366),
}
# Browsers whose agent names a fixed version, and those that name none.
FIXED_VERSIONS = {"UC Browser": "13", "DuckDuckGo Mobile": "5"}
# How many majors behind the newest visitors are: most update within weeks.
VERSION_LAG = (55, 25, 8, 4, 2, 1.5, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.3, 0.2)
SAFARI_LAG = (72, 20, 6, 2)

# System versions as ua-parser reads them. Chrome's reduced agent says "Windows NT 10.0",
# "Mac OS X 10_15_7" and "Android 10; K" whatever the system is; other Android browsers
# name the real version.
OS_VERSIONS: dict[str | None, dict[str | None, float]] = {
    "Windows": {"10": 96, "7": 2.5, "8.1": 1.5},
    "Mac OS X": {"10.15": 95, "10.14": 3, "10.13": 2},
    "Android": {"14": 35, "13": 22, "15": 15, "12": 12, "11": 8, "10": 5, "9": 3},
    "Chrome OS": {"16093.0": 40, "16033.0": 30, "15917.0": 20, "15786.0": 10},
    "Linux": {None: 100},
    "Ubuntu": {None: 100},
    None: {None: 100},
}
REDUCED_ANDROID = frozenset({"Chrome", "Mobile App", "Edge", "Opera"})
# iOS: a major every September (18 on 2024-09-16, days since 2024-01-01: 259), a minor
# about every six weeks.
IOS_FIRST = (18, 259)
IOS_MINOR_DAYS = 45
IOS_MINORS = 8

# --- where visits come from ------------------------------------------------------------

# Referrers of known sites, most visits first (search engines send only their origin).
KNOWN_REFERRERS = _words(
    "https://www.google.com/ https://duckduckgo.com/ https://www.bing.com/ "
    "https://www.google.de/ https://github.com/ https://news.ycombinator.com/ "
    "https://www.reddit.com/ https://www.google.co.uk/ https://chatgpt.com/ "
    "https://mastodon.social/ https://www.ecosia.org/ https://t.co/ https://www.google.fr/ "
    "https://www.linkedin.com/ https://search.brave.com/ https://lobste.rs/ "
    "https://bsky.app/ https://www.perplexity.ai/ https://fosstodon.org/ "
    "https://stackoverflow.com/ https://www.google.ca/ https://l.facebook.com/ "
    "https://www.youtube.com/ https://en.wikipedia.org/ https://www.startpage.com/ "
    "https://yandex.ru/ https://kagi.com/ https://www.qwant.com/ https://hachyderm.io/ "
    "https://search.yahoo.com/ https://news.google.com/ https://dev.to/ "
    "https://www.google.com.br/ https://copilot.microsoft.com/ https://t.me/ "
    "https://old.reddit.com/ https://www.baidu.com/ https://claude.ai/ https://lnkd.in/"
)
_TLDS = ("com", "com", "com", "net", "org", "io", "dev", "de", "co.uk", "fr", "nl", "blog")
_WORDS = _words(
    "byte code dev data stack cloud ops web log note open self host kernel pixel rust go "
    "py daily weekly tech hack news digest tools lab craft forge garden notes stream"
)


def referrer_tail(rng: random.Random, count: int) -> list[str]:
    """``count`` made-up referring pages on as many small sites (blogs, forums,
    newsletters): some send their origin, some the linking page."""
    pages = []
    for number in range(count):
        name = f"{rng.choice(_WORDS)}{rng.choice(_WORDS)}{number}"
        host = f"{rng.choice(('', '', 'www.', 'blog.', 'forum.'))}{name}.{rng.choice(_TLDS)}"
        path = "/" if rng.random() < 0.6 else f"/{2024 + number % 3}/{rng.choice(_WORDS)}-post"
        pages.append(f"https://{host}{path}")
    return pages


# Campaigns: (utm_source, utm_medium, referrer of a visit it brings, or None), weights.
CAMPAIGN_SOURCES = (
    (("newsletter", "email", None), 30),
    (("mastodon", "social", "https://mastodon.social/"), 12),
    (("linkedin", "social", "https://www.linkedin.com/"), 10),
    (("twitter", "social", "https://t.co/"), 8),
    (("google", "cpc", "https://www.google.com/"), 15),
    (("bing", "cpc", "https://www.bing.com/"), 4),
    (("producthunt", "referral", "https://www.producthunt.com/"), 5),
    (("partner", "affiliate", None), 6),
    (("github", "readme", "https://github.com/"), 10),
)
CAMPAIGN_NAMES = (
    "weekly-digest", "spring_sale", "launch-v2", "black-friday", "webinar-privacy",
    "onboarding", "release-notes", "year-in-review", "conference-talk", "case-study",
)  # fmt: skip
CAMPAIGN_CONTENTS = ("header-link", "footer", "cta-button", "variant-a", "variant-b", "banner")

# --- the site --------------------------------------------------------------------------

SECTIONS = {"blog": 0.55, "docs": 0.25, "guides": 0.1, "integrations": 0.1}
STATIC_PAGES = _words(
    "/ /pricing /features /docs/ /blog/ /about /signup /login /changelog /contact /privacy "
    "/terms /careers /security /status"
)
SLUG_WORDS = _words(
    "privacy analytics cookie consent gdpr tracking dashboard events funnel goal campaign "
    "self-hosted docker postgres sqlite migration api export import team retention bounce "
    "session referrer utm country browser device filter report alert release guide setup "
    "performance scaling backup nginx caddy kubernetes astro hugo nextjs wordpress"
)
CLICK_TARGETS = (
    "Get started", "Start free trial", "Contact sales", "Copy command", "Book a demo",
    "Read more", "See pricing", "Join the newsletter", "https://github.com/privalytics",
    "https://docs.example.org/api", "https://status.example.org/", "#faq", "#install",
)  # fmt: skip
SHARE_NETWORKS = _words("mastodon bluesky linkedin x hacker-news reddit email whatsapp telegram")
SCROLL_DEPTHS = (25.0, 50.0, 75.0, 100.0)
