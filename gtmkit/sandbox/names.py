"""Vocabulary pools for the simulated world: names, company words, industries, titles, places.

Pure data (no logic beyond small lookup helpers), so the generator in ``world.py`` stays readable.
Names are deliberately diverse and include non-ASCII letters, apostrophes and particles
("José", "Müller", "Nguyễn", "O'Neil", "van der Berg", "McDonald"), because real lead lists do.
"""

from __future__ import annotations

# fmt: off

#: Given and family names per naming culture. A person's culture is drawn from a mixture that
#: depends on their company's country (see ``CULTURE_MIX``).
FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "anglo": (
        "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
        "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
        "Sarah", "Chris", "Karen", "Daniel", "Emily", "Matthew", "Ashley", "Andrew", "Megan",
        "Ryan", "Rachel", "Kevin", "Laura", "Brian", "Hannah", "Sean", "Olivia", "Liam", "Emma",
        "Noah", "Ava", "Ethan", "Chloe", "Jack", "Grace", "Tyler", "Zoe", "Aaron", "Claire",
    ),
    "irish_scottish": (
        "Siobhán", "Seán", "Aoife", "Ciarán", "Niamh", "Eoin", "Róisín", "Declan", "Fiona",
        "Callum", "Isla", "Angus", "Mhairi", "Ewan", "Kirsty",
    ),
    "german": (
        "Hans", "Jürgen", "Katrin", "Lukas", "Anja", "Sören", "Jörg", "Björn", "Sabine", "Felix",
        "Lena", "Maximilian", "Annika", "Tobias", "Ute", "Matthias", "Julia", "Stefan", "Lea",
    ),
    "french": (
        "François", "Hélène", "Jérôme", "Chloé", "Élodie", "Mathieu", "Céline", "Benoît",
        "Aurélie", "Guillaume", "Camille", "Nicolas", "Amélie", "Théo", "Léa", "Raphaël",
    ),
    "hispanic": (
        "José", "María", "Alejandro", "Lucía", "Javier", "Sofía", "Andrés", "Camila", "Íñigo",
        "Valentina", "Diego", "Paula", "Martín", "Ana", "Carlos", "Inés", "Mateo", "Ximena",
    ),
    "portuguese": ("João", "Conceição", "Gonçalo", "Beatriz", "Tiago", "Mariana", "Vinícius"),
    "dutch": ("Jan", "Sanne", "Pieter", "Femke", "Daan", "Anouk", "Joost", "Eline", "Bram"),
    "nordic": ("Åsa", "Lars", "Sigrid", "Henrik", "Ingrid", "Mikael", "Øystein", "Freja"),
    "polish": ("Łukasz", "Małgorzata", "Paweł", "Agnieszka", "Michał", "Zofia", "Krzysztof"),
    "italian": ("Giulia", "Lorenzo", "Francesca", "Matteo", "Chiara", "Niccolò", "Alessia"),
    "vietnamese": ("Minh", "Thảo", "Hùng", "Lan", "Phương", "Tuấn", "Linh", "Quang"),
    "chinese": ("Wei", "Jing", "Hao", "Xiaoming", "Li", "Yan", "Jun", "Mei", "Zhiwei", "Ying"),
    "indian": (
        "Priya", "Rahul", "Ananya", "Arjun", "Sneha", "Vikram", "Aditi", "Rohan", "Kavya",
        "Sanjay", "Deepa", "Aarav",
    ),
    "japanese": ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Takeshi", "Sakura"),
    "turkish": ("Ayşe", "Mehmet", "Zeynep", "Emre", "Elif", "Çağrı", "Gökhan"),
    "arabic": ("Omar", "Layla", "Youssef", "Fatima", "Karim", "Nour", "Hassan", "Amira"),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "anglo": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
        "Anderson", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris",
        "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker",
        "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell",
        "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Reed", "Cook", "Bell",
        "Murphy", "Bailey", "Cooper", "Howard", "Ward", "Brooks", "Gray", "Hughes", "Price",
        "Smith-Jones", "Lee",
    ),
    "irish_scottish": (
        "O'Neil", "O'Brien", "O'Connor", "McDonald", "MacLeod", "McCarthy", "Ó Súilleabháin",
        "Fitzgerald", "MacKenzie", "O'Sullivan", "McLaughlin", "Kennedy", "Byrne", "Doyle",
    ),
    "german": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schäfer", "Koch", "Groß", "Hoffmann", "Schröder", "Krüger", "Zimmermann", "von Essen",
    ),
    "french": (
        "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Bonnet", "Rousseau", "Lefebvre",
        "Mercier", "Faure", "Chevalier", "de la Fontaine", "Gauthier", "Morel", "Fournier",
    ),
    "hispanic": (
        "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
        "Ramírez", "Torres", "Núñez", "Jiménez", "Muñoz", "de la Cruz", "Ortiz", "Castillo",
    ),
    "portuguese": ("Silva", "Santos", "Conceição", "Gonçalves", "Araújo", "Magalhães", "Sousa"),
    "dutch": ("van der Berg", "de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "de Jong"),
    "nordic": ("Johansson", "Björk", "Lindqvist", "Søndergaard", "Ågren", "Nyström", "Hansen"),
    "polish": ("Kowalski", "Wiśniewska", "Wójcik", "Łukaszewicz", "Zieliński", "Dąbrowski"),
    "italian": ("Rossi", "Russo", "Bianchi", "Romano", "Colombo", "Ricci", "De Luca", "Gallo"),
    "vietnamese": ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"),
    "chinese": ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"),
    "indian": (
        "Sharma", "Patel", "Gupta", "Singh", "Iyer", "Reddy", "Nair", "Mehta", "Krishnan",
        "Banerjee", "Chatterjee", "Rao",
    ),
    "japanese": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Itō", "Yamamoto"),
    "turkish": ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Aydın"),
    "arabic": ("Haddad", "Khoury", "Mansour", "Al-Sayed", "Nasser", "Saleh", "El-Amin"),
}

#: Country → (region, weight among companies, top-level domain, phone country code, culture mix).
COUNTRIES: dict[str, tuple[str, float, str, str]] = {
    "US": ("North America", 0.40, "com", "+1"),
    "CA": ("North America", 0.05, "ca", "+1"),
    "GB": ("Europe", 0.10, "co.uk", "+44"),
    "DE": ("Europe", 0.08, "de", "+49"),
    "FR": ("Europe", 0.07, "fr", "+33"),
    "NL": ("Europe", 0.04, "nl", "+31"),
    "ES": ("Europe", 0.03, "es", "+34"),
    "IT": ("Europe", 0.02, "it", "+39"),
    "SE": ("Europe", 0.02, "se", "+46"),
    "PL": ("Europe", 0.02, "pl", "+48"),
    "IE": ("Europe", 0.02, "ie", "+353"),
    "BR": ("Latin America", 0.04, "com.br", "+55"),
    "MX": ("Latin America", 0.02, "mx", "+52"),
    "IN": ("APAC", 0.04, "in", "+91"),
    "SG": ("APAC", 0.02, "sg", "+65"),
    "AU": ("APAC", 0.03, "com.au", "+61"),
}

#: Naming-culture mixture per country (weights need not sum to 1).
CULTURE_MIX: dict[str, dict[str, float]] = {
    "US": {
        "anglo": 0.55, "hispanic": 0.12, "chinese": 0.06, "indian": 0.08,
        "irish_scottish": 0.06, "vietnamese": 0.03, "italian": 0.03, "german": 0.03,
        "arabic": 0.02, "japanese": 0.02,
    },
    "CA": {"anglo": 0.5, "french": 0.2, "chinese": 0.1, "indian": 0.1, "irish_scottish": 0.1},
    "GB": {
        "anglo": 0.6, "irish_scottish": 0.12, "indian": 0.1, "polish": 0.05, "arabic": 0.05,
        "french": 0.04, "italian": 0.04,
    },
    "IE": {"irish_scottish": 0.6, "anglo": 0.3, "polish": 0.1},
    "DE": {"german": 0.75, "turkish": 0.12, "polish": 0.05, "anglo": 0.04, "italian": 0.04},
    "FR": {"french": 0.8, "arabic": 0.1, "hispanic": 0.05, "vietnamese": 0.05},
    "NL": {"dutch": 0.75, "turkish": 0.08, "german": 0.07, "anglo": 0.1},
    "ES": {"hispanic": 0.85, "french": 0.05, "anglo": 0.1},
    "IT": {"italian": 0.9, "anglo": 0.1},
    "SE": {"nordic": 0.8, "anglo": 0.1, "arabic": 0.1},
    "PL": {"polish": 0.9, "anglo": 0.1},
    "BR": {"portuguese": 0.8, "hispanic": 0.1, "italian": 0.1},
    "MX": {"hispanic": 0.95, "anglo": 0.05},
    "IN": {"indian": 0.95, "anglo": 0.05},
    "SG": {"chinese": 0.6, "indian": 0.2, "anglo": 0.1, "vietnamese": 0.1},
    "AU": {"anglo": 0.65, "chinese": 0.1, "vietnamese": 0.08, "indian": 0.07, "italian": 0.1},
}

#: Words company names are built from ("North" + "wind" → "Northwind", "Blue Harbor Labs").
NAME_HEADS: tuple[str, ...] = (
    "Acme", "Blue", "Bright", "North", "Silver", "Red", "Green", "Iron", "Clear", "Swift",
    "Nova", "Apex", "Summit", "Pioneer", "Quantum", "Stellar", "Vertex", "Harbor", "Cedar",
    "Maple", "Granite", "Falcon", "Orbit", "Pixel", "Signal", "Beacon", "Atlas", "Crest",
    "Echo", "Lumen", "Nimbus", "Polar", "Prism", "Radiant", "Sable", "Terra", "Umber", "Vivid",
    "Willow", "Zenith", "Aurora", "Copper", "Delta", "Ember", "Fjord", "Golden", "Horizon",
    "Indigo", "Juniper", "Kestrel", "Lattice", "Meridian", "Nordic", "Onyx", "Pacific", "Quarry",
    "Ridge", "Solar", "Tidal", "Union", "Velvet", "Wren", "Yonder", "Alpine", "Bison", "Coral",
)
NAME_TAILS: tuple[str, ...] = (
    "wind", "field", "stone", "works", "point", "bridge", "gate", "light", "wave", "path",
    "forge", "line", "mark", "scale", "stack", "shift", "base", "cloud", "leaf", "port",
    "peak", "craft", "flow", "grid", "hub", "loop", "mint", "nest", "pulse", "root", "spark",
)
NAME_SUFFIX_WORDS: tuple[str, ...] = (
    "Labs", "Systems", "Analytics", "Software", "Partners", "Group", "Health", "Logistics",
    "Capital", "Media", "Robotics", "Energy", "Foods", "Consulting", "Digital", "Studio",
    "Networks", "Solutions", "Bio", "Security", "Retail", "Learning", "Realty", "Motors",
)
#: Company names with non-ASCII letters: these companies get an internationalized (IDN) domain.
IDN_NAMES: dict[str, tuple[str, ...]] = {
    "DE": (
        "Bäckerei Schäfer", "Müller Maschinenbau", "Grün Energie", "Straßenwerk",
        "Löwen Logistik", "Fröhlich Medien",
    ),
    "FR": ("Café Lumière", "Élan Conseil", "Crème Digitale", "Forêt Bois", "Château Vins"),
    "ES": ("Señal Datos", "Niño Juguetes", "Mañana Viajes"),
    "SE": ("Ångström Labs", "Björk Design", "Älv Energi"),
    "PL": ("Łódź Software", "Źródło Media"),
    "NL": ("Zeeuwse Vis", "Fiets Café"),
    "BR": ("Ação Digital", "Coração Saúde"),
}

#: Legal suffix per country: (canonical suffix, messy alternatives seen in lead lists).
LEGAL_SUFFIXES: dict[str, tuple[str, tuple[str, ...]]] = {
    "US": ("Inc.", ("Inc", ", Inc.", "Incorporated", "LLC", "Corp.")),
    "CA": ("Inc.", ("Inc", "Ltd.", "Corp")),
    "GB": ("Ltd", ("Limited", "Ltd.", "PLC", "LTD")),
    "IE": ("Ltd", ("Limited", "Teoranta")),
    "DE": ("GmbH", ("GmbH & Co. KG", "AG", "gmbh")),
    "FR": ("SAS", ("S.A.S.", "SA", "SARL")),
    "NL": ("B.V.", ("BV", "N.V.")),
    "ES": ("S.L.", ("SL", "S.A.")),
    "IT": ("S.r.l.", ("Srl", "S.p.A.")),
    "SE": ("AB", ("Aktiebolag",)),
    "PL": ("Sp. z o.o.", ("sp. z o.o.", "S.A.")),
    "BR": ("Ltda.", ("Ltda", "S.A.")),
    "MX": ("S.A. de C.V.", ("SA de CV",)),
    "IN": ("Pvt. Ltd.", ("Private Limited", "Pvt Ltd")),
    "SG": ("Pte. Ltd.", ("Pte Ltd",)),
    "AU": ("Pty Ltd", ("Pty. Ltd.", "Pty Limited")),
}
#: Every legal suffix token the company-name normalizer strips (lowercase, no punctuation).
LEGAL_TOKENS: frozenset[str] = frozenset(
    {
        "inc", "incorporated", "llc", "corp", "corporation", "ltd", "limited", "plc", "gmbh",
        "co", "kg", "ag", "sas", "sa", "sarl", "bv", "nv", "sl", "srl", "spa", "ab",
        "aktiebolag", "sp", "z", "oo", "ltda", "de", "cv", "pvt", "private", "pte", "pty",
        "teoranta", "company", "the",
    }
)

#: Industry → weight, and whether the industry skews technical (more engineering staff).
INDUSTRIES: dict[str, tuple[float, bool]] = {
    "computer software": (0.20, True),
    "information technology & services": (0.12, True),
    "financial services": (0.09, False),
    "marketing & advertising": (0.08, False),
    "hospital & health care": (0.07, False),
    "manufacturing": (0.07, False),
    "retail": (0.06, False),
    "professional services": (0.07, False),
    "education": (0.05, False),
    "logistics & supply chain": (0.05, False),
    "real estate": (0.04, False),
    "media & entertainment": (0.04, False),
    "biotechnology": (0.03, True),
    "telecommunications": (0.03, True),
}

#: Funding stage by company size band (small companies skew bootstrapped/seed).
FUNDING_STAGES: tuple[str, ...] = (
    "bootstrapped", "seed", "series_a", "series_b", "series_c", "series_d_plus", "private_equity",
    "public",
)

#: Email local-part patterns and their share among companies.
EMAIL_PATTERNS: dict[str, float] = {
    "first.last": 0.38,
    "flast": 0.18,
    "first": 0.12,
    "firstlast": 0.08,
    "f.last": 0.07,
    "first_last": 0.04,
    "last": 0.03,
    "firstl": 0.03,
    "last.first": 0.03,
    "first.l": 0.02,
    "lastf": 0.02,
}

#: Departments: name → (technical?, title stems by seniority).
DEPARTMENTS: dict[str, tuple[bool, dict[str, tuple[str, ...]]]] = {
    "engineering": (
        True,
        {
            "c_suite": ("CTO", "Chief Technology Officer"),
            "vp": ("VP of Engineering", "VP Engineering"),
            "director": ("Director of Engineering", "Engineering Director"),
            "head": ("Head of Engineering", "Head of Platform"),
            "manager": ("Engineering Manager", "Software Development Manager"),
            "senior": ("Senior Software Engineer", "Staff Engineer", "Principal Engineer"),
            "entry": (
                "Software Engineer", "Backend Developer", "Frontend Developer", "DevOps Engineer",
            ),
        },
    ),
    "data": (
        True,
        {
            "c_suite": ("Chief Data Officer",),
            "vp": ("VP of Data",),
            "director": ("Director of Data Science", "Director of Analytics"),
            "head": ("Head of Data", "Head of Analytics"),
            "manager": ("Data Science Manager", "Analytics Manager"),
            "senior": ("Senior Data Scientist", "Senior Data Engineer"),
            "entry": ("Data Analyst", "Data Engineer", "Data Scientist"),
        },
    ),
    "it": (
        True,
        {
            "c_suite": ("CIO", "Chief Information Officer"),
            "vp": ("VP of IT",),
            "director": ("IT Director", "Director of IT Infrastructure"),
            "head": ("Head of IT",),
            "manager": ("IT Manager", "Systems Manager"),
            "senior": ("Senior Systems Administrator", "Senior Security Engineer"),
            "entry": ("IT Support Specialist", "Systems Administrator", "Security Analyst"),
        },
    ),
    "product": (
        True,
        {
            "c_suite": ("Chief Product Officer", "CPO"),
            "vp": ("VP of Product",),
            "director": ("Director of Product Management",),
            "head": ("Head of Product", "Head of Design"),
            "manager": ("Product Manager", "Design Manager"),
            "senior": ("Senior Product Manager", "Senior Product Designer"),
            "entry": ("Associate Product Manager", "Product Designer", "UX Researcher"),
        },
    ),
    "sales": (
        False,
        {
            "c_suite": ("Chief Revenue Officer", "CRO"),
            "vp": ("VP of Sales", "VP Sales", "SVP Sales"),
            "director": ("Sales Director", "Director of Sales"),
            "head": ("Head of Sales", "Head of Business Development"),
            "manager": ("Sales Manager", "Account Manager", "Regional Sales Manager"),
            "senior": ("Senior Account Executive", "Enterprise Account Executive"),
            "entry": ("Account Executive", "Sales Development Representative", "BDR"),
        },
    ),
    "marketing": (
        False,
        {
            "c_suite": ("CMO", "Chief Marketing Officer"),
            "vp": ("VP of Marketing", "VP Growth"),
            "director": ("Marketing Director", "Director of Demand Generation"),
            "head": ("Head of Marketing", "Head of Growth"),
            "manager": (
                "Marketing Manager", "Content Marketing Manager", "Product Marketing Manager",
            ),
            "senior": ("Senior Marketing Specialist", "Senior Growth Marketer"),
            "entry": ("Marketing Coordinator", "Marketing Specialist", "Social Media Specialist"),
        },
    ),
    "finance": (
        False,
        {
            "c_suite": ("CFO", "Chief Financial Officer"),
            "vp": ("VP of Finance",),
            "director": ("Finance Director", "Controller"),
            "head": ("Head of Finance",),
            "manager": ("Finance Manager", "Accounting Manager"),
            "senior": ("Senior Accountant", "Senior Financial Analyst"),
            "entry": ("Accountant", "Financial Analyst", "Bookkeeper"),
        },
    ),
    "hr": (
        False,
        {
            "c_suite": ("Chief People Officer", "CHRO"),
            "vp": ("VP of People",),
            "director": ("HR Director", "Director of Talent Acquisition"),
            "head": ("Head of People", "Head of Talent"),
            "manager": ("HR Manager", "Recruiting Manager"),
            "senior": ("Senior Recruiter", "Senior HR Business Partner"),
            "entry": ("Recruiter", "HR Coordinator", "Talent Sourcer"),
        },
    ),
    "operations": (
        False,
        {
            "c_suite": ("COO", "Chief Operating Officer", "CEO", "Chief Executive Officer"),
            "vp": ("VP of Operations",),
            "director": ("Operations Director", "Director of RevOps"),
            "head": ("Head of Operations", "Head of Revenue Operations"),
            "manager": ("Operations Manager", "Revenue Operations Manager", "Office Manager"),
            "senior": ("Senior Operations Analyst", "Senior RevOps Analyst"),
            "entry": ("Operations Coordinator", "Operations Analyst"),
        },
    ),
    "customer_success": (
        False,
        {
            "c_suite": ("Chief Customer Officer",),
            "vp": ("VP of Customer Success",),
            "director": ("Director of Customer Success", "Director of Support"),
            "head": ("Head of Customer Success", "Head of Support"),
            "manager": ("Customer Success Manager", "Support Manager"),
            "senior": ("Senior Customer Success Manager", "Senior Support Engineer"),
            "entry": ("Customer Support Specialist", "Implementation Specialist"),
        },
    ),
    "legal": (
        False,
        {
            "c_suite": ("General Counsel", "Chief Legal Officer"),
            "vp": ("VP Legal",),
            "director": ("Director of Legal",),
            "head": ("Head of Legal",),
            "manager": ("Legal Manager", "Compliance Manager"),
            "senior": ("Senior Counsel", "Senior Paralegal"),
            "entry": ("Paralegal", "Legal Counsel", "Compliance Analyst"),
        },
    ),
}

#: Seniority levels (Apollo's vocabulary) with their share among non-founder staff.
SENIORITY_WEIGHTS: dict[str, float] = {
    "c_suite": 0.04,
    "vp": 0.05,
    "director": 0.09,
    "head": 0.05,
    "manager": 0.20,
    "senior": 0.25,
    "entry": 0.32,
}
#: Order used when a search lists people (most senior first).
SENIORITY_RANK: dict[str, int] = {
    "owner": 0, "founder": 0, "c_suite": 1, "vp": 2, "director": 3, "head": 3, "manager": 4,
    "senior": 5, "entry": 6,
}

#: Webmail domains for personal addresses (they appear in lead lists in place of work emails).
WEBMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "gmx.de", "orange.fr",
    "web.de", "protonmail.com", "live.co.uk",
)
#: Throwaway-mail domains (the verifier reports them as ``disposable``).
DISPOSABLE_DOMAINS: tuple[str, ...] = ("mailinator.com", "10minutemail.com", "guerrillamail.com")
# fmt: on
