"""Generate the embedded demo data set: a small synthetic shop with planted structure.

Run ``python -m recsys.datasets.make_demo [OUT_DIR]`` (default: ``data/demo/`` at the repository
root). The output is a pure function of :data:`SEED`: with the same numpy, pandas and zlib
the same bytes are written (gzip headers carry no time or file name), and the CSV text is the
same wherever numpy's random streams are, so the committed files can be checked by
regenerating them.

What is written
---------------
``items.csv.gz``
    1,000 products: ``item_id``, ``title``, ``category``, ``brand``, ``price``,
    ``description`` (a short text for content models) and ``compatibility`` (a key shared by a
    device and the accessories made for it: a phone model, a memory-card format, a console
    platform, a capsule system, a printer series; empty for everything else).
``users.csv.gz``
    2,000 shoppers: ``user_id``, ``age_group`` (correlated with the taste cluster) and
    ``region`` (pure noise, as side features often are).
``events.csv.gz``
    About 100,000 events sorted by time: ``user_id``, ``item_id``, ``event`` (view, cart or
    purchase), ``timestamp`` (second resolution, January to June 2024) and ``basket_id``
    (the order id of purchases, empty otherwise).
``README.md``
    These facts and the summary numbers of the generated files.

How the data are made
---------------------
1. **Catalogue.** 21 categories (:data:`CATEGORIES`) of 16 to 130 items. Within each category
   item appeal follows a Zipf law (weight ``rank ** -1.2``, ranks shuffled), which gives the
   long tail; prices are log-normal around a category median, and the price tercile inside
   the category is the item's tier (budget, mid, premium). Item ids (``i0001`` ...) are
   shuffled, so they say nothing about the category.
2. **Complements** are explicit (:data:`LINKS`): a device category, an accessory category,
   how they match and how often the accessory joins the device in the same order:
   phone + case made for that model (60 %), phone + screen protector for that model (30 %),
   camera + memory card of its format (60 %), camera + bag (25 %), laptop + sleeve of its
   size (40 %), laptop + mouse/keyboard (30 %), console + game for its platform (70 %),
   console + controller for its platform (40 %), coffee machine + coffee for its system
   (60 %), printer + ink for its series (70 %). Owning a device also makes later sessions
   in its accessory categories likely, and steers them to compatible items.
3. **Users** belong to one of eight taste clusters (:data:`PERSONAS`: tech fan,
   photographer, gamer, home barista, reader, athlete, parent, home office), each a weight
   vector over categories. A user's category preference is a Dirichlet draw around the
   cluster's vector; each user also has two favourite brands and a price tier.
4. **Sessions.** A user has a log-normal number of sessions spread over six months. A session
   picks a category (from the preference, or an accessory category of a device owned), views
   1 + Poisson(2.5) items drawn without replacement with log-probability
   ``log appeal + 1.2 [favourite brand] + 0.8 [own tier] - 0.8 [two tiers off]
   + 3 [fits an owned device]``, carts
   each viewed item with probability 0.25 and buys each carted item with probability 0.55.
   The purchases of a session form one order (``basket_id``), to which complements are
   added as above (through the cart, as from a "bought together" box: no view). Every item
   is guaranteed at least one view.

Because taste is mostly per cluster, brand and tier, a user's history predicts the rest of it
far better than global popularity: item-item collaborative filtering clearly beats the
popularity baseline on this data, and association rules find the planted complements.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240601
N_USERS = 2000
START = pd.Timestamp("2024-01-01")
DAYS = 182
EVENT_TYPES = ("view", "cart", "purchase")
FILES = ("items.csv.gz", "users.csv.gz", "events.csv.gz", "README.md")

# Simulation knobs (see the module docstring).
SESSIONS_MEDIAN, SESSIONS_SIGMA = 7.0, 0.8
VIEWS_POISSON = 2.5
P_CART, P_BUY = 0.25, 0.55
BRAND_BOOST, COMPAT_BOOST = 1.2, 3.0
P_ACCESSORY_SESSION = 0.3
PERSONA_CONCENTRATION = 12.0
TIERS = ("budget", "mid", "premium")
ZIPF_EXPONENT = 1.2


def default_output() -> Path:
    """``data/demo`` at the repository root, where :func:`recsys.datasets.demo` looks."""
    from recsys.datasets.demo import demo_dir

    return demo_dir()


# ---------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Category:
    """A product category and the words its titles and descriptions are made of."""

    name: str
    kind: str
    n_items: int
    price: float
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    features: tuple[str, ...]
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """Accessory category ``accessory`` complements devices of category ``device``.

    ``match`` is ``"model"`` (each accessory is made for one device), ``"key"`` (accessory and
    device share a compatibility key such as a card format) or ``"any"``; ``p`` is the chance
    that buying a device adds one such accessory to the same order.
    """

    device: str
    accessory: str
    match: str
    p: float


CATEGORIES: tuple[Category, ...] = (
    Category("Smartphones", "smartphone", 60, 520.0,
             brands=("Apex", "Voltra", "Nimbus", "Kairo"),
             nouns=("Nova", "Edge", "Pulse", "Orbit", "Zen"),
             features=("6.1-inch OLED display", "triple 48 MP camera", "all-day battery", "5G",
                       "fast charging", "water resistant", "compact design", "120 Hz screen")),
    Category("Phone cases", "phone case", 90, 19.0,
             brands=("Shieldy", "Caseo", "Apex", "Voltra"),
             nouns=("Slim case", "Rugged case", "Leather case", "Clear case", "Wallet case"),
             features=("drop protection", "raised camera edge", "wireless charging compatible",
                       "soft-touch finish", "card pocket")),
    Category("Screen protectors", "screen protector", 40, 12.0,
             brands=("Shieldy", "Glassix"),
             nouns=("Tempered glass protector", "Privacy screen protector", "Matte screen film"),
             features=("9H hardness", "bubble-free install", "anti-fingerprint coating")),
    Category("Cameras", "camera", 40, 780.0,
             brands=("Lumen", "Optix", "Kairo"),
             nouns=("Alpha", "Vista", "Snap", "Trek"),
             features=("24 MP sensor", "4K video", "image stabilisation", "weather sealing",
                       "fast autofocus", "flip screen"),
             keys=("SD card", "microSD card", "CFexpress card")),
    Category("Memory cards", "memory card", 24, 29.0,
             brands=("Datavolt", "Lumen", "Storix"),
             nouns=("memory card",),
             features=("V30 speed class", "fast transfer", "shockproof casing",
                       "4K recording speed")),
    Category("Camera bags", "camera bag", 26, 59.0,
             brands=("Packwell", "Optix", "Trailkit"),
             nouns=("Shoulder bag", "Camera backpack", "Sling bag", "Hard case"),
             features=("padded dividers", "rain cover", "tripod strap", "quick side access")),
    Category("Laptops", "laptop", 50, 1050.0,
             brands=("Nordik", "Apex", "Voltra"),
             nouns=("Air", "Pro", "Book", "Flex"),
             features=("16 GB RAM", "1 TB SSD", "backlit keyboard", "18-hour battery",
                       "aluminium body", "touch screen"),
             keys=("13-inch", "14-inch", "15-inch", "16-inch")),
    Category("Laptop sleeves", "laptop sleeve", 30, 34.0,
             brands=("Packwell", "Nordik", "Caseo"),
             nouns=("Neoprene sleeve", "Felt sleeve", "Leather sleeve"),
             features=("water repellent", "zip pocket", "slim fit")),
    Category("Mice & keyboards", "computer accessory", 50, 45.0,
             brands=("Clikz", "Nordik", "Apex"),
             nouns=("Wireless mouse", "Mechanical keyboard", "Ergonomic mouse",
                    "Compact keyboard", "Trackpad"),
             features=("Bluetooth", "USB-C receiver", "silent clicks", "rechargeable battery",
                       "RGB backlight")),
    Category("Game consoles", "game console", 16, 430.0,
             brands=("PlayBox", "Nexa", "Orbit", "Pixel Go"),
             nouns=("Standard", "Slim", "Digital", "Pro", "Bundle"),
             features=("4K gaming", "1 TB storage", "quiet cooling", "backwards compatible"),
             keys=("PlayBox", "Nexa", "Orbit", "Pixel Go")),
    Category("Video games", "video game", 130, 49.0,
             brands=("Questline", "Pixelforge", "Redcap", "Moonbit"),
             nouns=("Shadow", "Neon", "Iron", "Crystal", "Wild", "Last", "Star", "Frozen",
                    "Hidden", "Golden", "Silent", "Broken"),
             features=("an open world", "online co-op", "a long story mode", "racing", "puzzles",
                       "strategy", "sports", "platforming", "role-playing")),
    Category("Controllers", "game controller", 24, 59.0,
             brands=("PlayBox", "Nexa", "Orbit", "Pixel Go", "Gripz"),
             nouns=("Wireless controller", "Pro controller", "Charging dock"),
             features=("haptic feedback", "40-hour battery", "remappable buttons")),
    Category("Coffee machines", "coffee machine", 30, 240.0,
             brands=("Baristo", "Crema", "Kafé"),
             nouns=("Espresso machine", "Bean-to-cup machine"),
             features=("15 bar pump", "milk frother", "programmable cups", "fast heat-up",
                       "descaling alert"),
             keys=("beans", "CapsuleOne", "BrewDisc")),
    Category("Coffee", "coffee", 60, 14.0,
             brands=("Crema", "Highland Roasters", "Baristo"),
             nouns=("Espresso", "Lungo", "Decaf", "House blend", "Single origin"),
             features=("dark roast", "medium roast", "chocolate notes", "fruity notes",
                       "fair trade beans")),
    Category("Printers", "printer", 24, 190.0,
             brands=("Inkora", "Printwell"),
             nouns=("JetLine", "LaserOne", "PhotoPro"),
             features=("duplex printing", "Wi-Fi", "scanner", "photo quality", "low cost per page"),
             keys=("JetLine 100", "JetLine 200", "LaserOne 300", "LaserOne 400", "PhotoPro 500",
                   "PhotoPro 600")),
    Category("Ink & toner", "printer supply", 48, 32.0,
             brands=("Inkora", "Printwell", "Refillo"),
             nouns=("Black cartridge", "Colour cartridge", "XL black cartridge", "Toner"),
             features=("high yield", "original", "smudge resistant")),
    Category("Headphones", "headphones", 48, 130.0,
             brands=("Sonik", "Apex", "Voltra"),
             nouns=("Over-ear headphones", "Earbuds", "Sport earbuds", "Studio headphones"),
             features=("noise cancelling", "30-hour battery", "sweat resistant", "hi-res audio")),
    Category("Books", "book", 80, 16.0,
             brands=("Pageturn Press", "Northwind Books", "Quill & Co"),
             nouns=("The Silent", "A Winter", "The Last", "Under the", "The Hidden", "Beyond the"),
             features=("thriller", "cookbook", "science fiction", "biography", "fantasy",
                       "history", "self-help")),
    Category("Kitchen", "kitchen tool", 45, 42.0,
             brands=("Cookwise", "Baristo", "Kafé"),
             nouns=("Frying pan", "Knife set", "Blender", "Milk jug", "Grinder", "Scale"),
             features=("stainless steel", "non-stick", "dishwasher safe", "precise")),
    Category("Sports", "sports gear", 45, 48.0,
             brands=("Stridefit", "Trailkit", "Peakform"),
             nouns=("Yoga mat", "Running shoes", "Dumbbell set", "Water bottle", "Fitness tracker"),
             features=("lightweight", "breathable", "non-slip", "durable")),
    Category("Toys", "toy", 40, 28.0,
             brands=("Brickly", "Funbox", "Tinytown"),
             nouns=("Building set", "Puzzle", "Plush bear", "Board game", "Wooden train"),
             features=("ages 6+", "family fun", "1000 pieces", "educational")),
)

LINKS: tuple[Link, ...] = (
    Link("Smartphones", "Phone cases", "model", 0.6),
    Link("Smartphones", "Screen protectors", "model", 0.3),
    Link("Cameras", "Memory cards", "key", 0.6),
    Link("Cameras", "Camera bags", "any", 0.25),
    Link("Laptops", "Laptop sleeves", "key", 0.4),
    Link("Laptops", "Mice & keyboards", "any", 0.3),
    Link("Game consoles", "Video games", "key", 0.7),
    Link("Game consoles", "Controllers", "key", 0.4),
    Link("Coffee machines", "Coffee", "key", 0.6),
    Link("Printers", "Ink & toner", "key", 0.7),
)

PERSONAS: dict[str, dict[str, float]] = {
    "tech fan": {"Smartphones": 3, "Phone cases": 3, "Screen protectors": 1.5, "Laptops": 1.5,
                 "Mice & keyboards": 1.5, "Headphones": 3},
    "photographer": {"Cameras": 4, "Memory cards": 2, "Camera bags": 2.5, "Laptops": 1,
                     "Laptop sleeves": 1, "Sports": 1},
    "gamer": {"Game consoles": 2, "Video games": 6, "Controllers": 2, "Headphones": 1.5,
              "Mice & keyboards": 1.5},
    "home barista": {"Coffee machines": 2.5, "Coffee": 5, "Kitchen": 3, "Books": 1},
    "reader": {"Books": 7, "Coffee": 1.5, "Headphones": 1},
    "athlete": {"Sports": 6, "Headphones": 2.5, "Smartphones": 1, "Phone cases": 1},
    "parent": {"Toys": 5, "Books": 2.5, "Kitchen": 2.5, "Video games": 1},
    "home office": {"Printers": 2.5, "Ink & toner": 4, "Laptops": 2, "Laptop sleeves": 1.5,
                    "Mice & keyboards": 2.5, "Coffee": 1},
}
PERSONA_SHARES = (0.16, 0.1, 0.16, 0.11, 0.13, 0.12, 0.12, 0.1)
AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55+")
PERSONA_AGES = {  # the age group is the only side information that hints at the cluster
    "tech fan": (0.35, 0.35, 0.15, 0.1, 0.05), "photographer": (0.1, 0.3, 0.3, 0.2, 0.1),
    "gamer": (0.5, 0.3, 0.12, 0.05, 0.03), "home barista": (0.05, 0.2, 0.3, 0.25, 0.2),
    "reader": (0.1, 0.15, 0.2, 0.25, 0.3), "athlete": (0.3, 0.35, 0.2, 0.1, 0.05),
    "parent": (0.02, 0.3, 0.5, 0.15, 0.03), "home office": (0.05, 0.25, 0.3, 0.25, 0.15),
}
REGIONS = ("North", "South", "East", "West", "Central")
USES = {  # how a device's description names what fits it (accessories say "Fits ...")
    "Cameras": "Takes a {}.", "Laptops": "{} screen.", "Game consoles": "Plays {} games.",
    "Coffee machines": "Uses {}.", "Printers": "Uses {} cartridges.",
}
TIER_WORDS = {"budget": "Great value.", "mid": "Balanced features for everyday use.",
              "premium": "Premium materials and build."}


def zipf_appeal(rng: np.random.Generator, n: int) -> np.ndarray:
    """Zipf weights ``rank ** -ZIPF_EXPONENT`` over ``n`` items, ranks shuffled, summing to one."""
    weights = rng.permutation(np.arange(1, n + 1)) ** -ZIPF_EXPONENT
    return weights / weights.sum()


def _tiers(prices: np.ndarray) -> np.ndarray:
    ranks = prices.argsort().argsort()
    return np.minimum(ranks * 3 // len(prices), 2)


def _describe(rng: np.random.Generator, cat: Category, brand: str, tier: str, key: str) -> str:
    """A one-line description in the category's own words (what content models read)."""
    picks = sorted(rng.choice(len(cat.features), size=2, replace=False))
    first, second = (cat.features[i] for i in picks)
    if cat.name == "Books":
        return f"A {first} book from {brand}, loved by fans of {second}. {TIER_WORDS[tier]}"
    uses = USES.get(cat.name, "" if _is_device(cat.name) else "Fits {}.")
    fits = f" {uses.format(key)}" if key and uses else ""
    return f"{brand} {cat.kind} with {first} and {second}.{fits} {TIER_WORDS[tier]}"


def _unique(titles: list[str]) -> list[str]:
    """Number repeated titles " II", " III", ... in order (before a trailing "(...)")."""
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        count = seen.get(title, 0) + 1
        seen[title] = count
        if count == 1:
            out.append(title)
            continue
        head, paren, tail = title.rpartition(" (") if title.endswith(")") else (title, "", "")
        out.append(f"{head} {'I' * count}{paren}{tail}")
    return out


def _device_title(rng: np.random.Generator, cat: Category, brand: str, key: str) -> str:
    noun = cat.nouns[int(rng.integers(len(cat.nouns)))]
    number = int(rng.integers(2, 20))
    if cat.name == "Game consoles":
        return f"{key} {number % 6 + 1} {noun}"
    if cat.name == "Printers":
        return f"{brand} {key} {'ABCDEF'[number % 6]}{number}"
    if cat.name == "Laptops":
        return f"{brand} {noun} {key} G{number}"
    if cat.name == "Coffee machines":
        kind = noun if key == "beans" else f"{key} capsule machine"
        return f"{brand} {kind} {number}"
    return f"{brand} {noun} {number}"


def _other_title(rng: np.random.Generator, cat: Category, brand: str, key: str) -> str:
    """Title of an accessory (made for ``key``) or of a stand-alone product."""
    noun = cat.nouns[int(rng.integers(len(cat.nouns)))]
    if cat.name in ("Phone cases", "Screen protectors", "Ink & toner"):
        return f"{brand} {noun} for {key}"
    if cat.name == "Memory cards":
        size = (32, 64, 128, 256, 512)[int(rng.integers(5))]
        return f"{brand} {key.replace(' card', '')} {noun} {size} GB"
    if cat.name == "Video games":
        second = ("Frontier", "Kingdom", "Legends", "Rally", "Odyssey", "Tactics", "League",
                  "Quest", "Runner", "Empire")[int(rng.integers(10))]
        return f"{noun} {second} ({key})"
    if cat.name == "Coffee":
        pack = "1 kg beans" if key == "beans" else f"{key} pods x20"
        return f"{brand} {noun} {pack}"
    if cat.name == "Controllers":
        return f"{key} {noun}" if brand == key else f"{brand} {noun} for {key}"
    if cat.name == "Laptop sleeves":
        return f"{brand} {noun} {key}"
    if cat.name == "Books":
        tail = ("River", "Garden", "Code", "Harbour", "Mountain", "Letter", "Machine",
                "Kitchen", "Empire", "Night")[int(rng.integers(10))]
        return f"{noun} {tail}"
    return f"{brand} {noun} {int(rng.integers(100, 999))}"


def build_catalog(rng: np.random.Generator) -> pd.DataFrame:
    """The item table: the public columns plus ``appeal`` and ``tier``, used to simulate."""
    parts: dict[str, pd.DataFrame] = {}
    for cat in CATEGORIES:
        parts[cat.name] = _category_items(rng, cat, parts)
    catalog = pd.concat(parts.values(), ignore_index=True)
    repeated = catalog["title"][catalog["title"].duplicated()].tolist()
    if repeated:
        raise AssertionError(f"demo titles repeat across categories: {repeated[:5]}")
    return _assign_ids(rng, catalog)


def _category_items(rng: np.random.Generator, cat: Category,
                    done: dict[str, pd.DataFrame]) -> pd.DataFrame:
    n = cat.n_items
    prices = np.maximum(np.round(cat.price * rng.lognormal(0.0, 0.45, n)) - 0.01, 1.99)
    tiers = np.array(TIERS, dtype=object)[_tiers(prices)]
    if cat.name == "Game consoles":  # the platform is the maker
        brands = np.array(cat.keys, dtype=object)[np.arange(n) % len(cat.keys)]
    else:
        brands = np.array(cat.brands, dtype=object)[rng.integers(len(cat.brands), size=n)]
    keys = _keys_for(rng, cat, brands, done)
    if cat.name == "Controllers":  # mostly made by the platform itself, else third party
        brands = np.where(rng.random(n) < 0.6, np.array(keys, dtype=object), "Gripz")
    make_title = _device_title if _is_device(cat.name) else _other_title
    titles = _unique([make_title(rng, cat, b, k) for b, k in zip(brands, keys, strict=True)])
    if _is_device(cat.name) and not cat.keys:  # phones: each model is its own key
        keys = titles
    return pd.DataFrame({
        "title": titles, "category": cat.name, "brand": brands, "price": prices,
        "description": [_describe(rng, cat, b, t, k)
                        for b, t, k in zip(brands, tiers, keys, strict=True)],
        "compatibility": keys, "appeal": zipf_appeal(rng, n), "tier": tiers,
    })


def _is_device(name: str) -> bool:
    return any(lk.device == name for lk in LINKS)


def _keys_for(rng: np.random.Generator, cat: Category, brands: np.ndarray,
              done: dict[str, pd.DataFrame]) -> list[str]:
    """Compatibility keys of a category's items ("" for none); devices come before accessories."""
    n = cat.n_items
    link = next((lk for lk in LINKS if lk.accessory == cat.name), None)
    if _is_device(cat.name):
        if cat.name == "Game consoles":
            return list(brands)
        return [cat.keys[i] for i in rng.integers(len(cat.keys), size=n)] if cat.keys else [""] * n
    if link is None or link.match == "any":
        return [""] * n
    if link.match == "key":
        keys = next(c.keys for c in CATEGORIES if c.name == link.device)
        # Every key gets accessories; the rest are spread at random.
        order = np.r_[np.arange(len(keys)), rng.integers(len(keys), size=n - len(keys))]
        return [keys[i] for i in order]
    # "model": accessories go to the more appealing models first, one each, then again.
    devices = done[link.device]
    appeal = devices["appeal"].to_numpy()
    if n <= len(devices):
        rows = rng.choice(len(devices), size=n, replace=False, p=appeal)
    else:
        rows = np.r_[rng.permutation(len(devices)),
                     rng.choice(len(devices), size=n - len(devices), p=appeal)]
    return devices["compatibility"].to_numpy()[rows].tolist()


def _assign_ids(rng: np.random.Generator, catalog: pd.DataFrame) -> pd.DataFrame:
    """Shuffle the rows so ids say nothing about the category, then number them i0001..."""
    catalog = catalog.iloc[rng.permutation(len(catalog))].reset_index(drop=True)
    catalog.insert(0, "item_id", [f"i{k:04d}" for k in range(1, len(catalog) + 1)])
    return catalog


# ---------------------------------------------------------------------------- the shoppers
@dataclass
class Shoppers:
    """Users with the hidden taste the events are drawn from."""

    frame: pd.DataFrame  # public: user_id, age_group, region
    preference: np.ndarray  # (n_users, n_categories) category probabilities
    scores: np.ndarray  # (n_users, n_items) log-appeal + brand and tier affinity


def _persona_matrix() -> np.ndarray:
    names = [c.name for c in CATEGORIES]
    # A little mass on every category: nobody shops in their cluster only.
    base = np.full((len(PERSONAS), len(names)), 0.12)
    for k, weights in enumerate(PERSONAS.values()):
        for name, weight in weights.items():
            base[k, names.index(name)] += weight
    return base / base.sum(axis=1, keepdims=True)


def build_users(rng: np.random.Generator, catalog: pd.DataFrame) -> Shoppers:
    """Draw clusters, category preferences, favourite brands and price tiers."""
    n = N_USERS
    persona = rng.choice(len(PERSONAS), size=n, p=PERSONA_SHARES)
    gammas = rng.gamma(PERSONA_CONCENTRATION * _persona_matrix()[persona])
    preference = gammas / gammas.sum(axis=1, keepdims=True)
    ages = np.array([rng.choice(len(AGE_GROUPS), p=PERSONA_AGES[name])
                     for name in np.array(list(PERSONAS))[persona]])
    frame = pd.DataFrame({
        "user_id": [f"u{k:04d}" for k in range(1, n + 1)],
        "age_group": np.array(AGE_GROUPS, dtype=object)[ages],
        "region": np.array(REGIONS, dtype=object)[rng.integers(len(REGIONS), size=n)],
    })
    scores = np.log(catalog["appeal"].to_numpy())[None, :] + _brand_affinity(
        rng, preference, catalog) + _tier_affinity(rng, n, catalog)
    return Shoppers(frame, preference, scores)


def _brand_affinity(rng: np.random.Generator, preference: np.ndarray,
                    catalog: pd.DataFrame) -> np.ndarray:
    """BRAND_BOOST on items of two favourite brands, picked from categories the user likes."""
    listed = [b for cat in CATEGORIES for b in cat.brands]
    brands = np.unique(np.r_[listed, catalog["brand"].to_numpy().astype(str)])
    index = {b: k for k, b in enumerate(brands)}
    brand_of_item = catalog["brand"].map(index).to_numpy()
    favourite = np.zeros((len(preference), len(brands)), dtype=bool)
    for user, pref in enumerate(preference):
        for cat in rng.choice(len(CATEGORIES), size=2, p=pref):
            choices = CATEGORIES[cat].brands
            favourite[user, index[choices[int(rng.integers(len(choices)))]]] = True
    return BRAND_BOOST * favourite[:, brand_of_item]


def _tier_affinity(rng: np.random.Generator, n_users: int, catalog: pd.DataFrame) -> np.ndarray:
    """+0.8 for the user's own price tier, -0.8 two tiers away."""
    user_tier = rng.choice(3, size=n_users, p=(0.4, 0.4, 0.2))
    item_tier = catalog["tier"].map({t: k for k, t in enumerate(TIERS)}).to_numpy()
    distance = np.abs(user_tier[:, None] - item_tier[None, :])
    return np.select([distance == 0, distance == 2], [0.8, -0.8], 0.0)


# ---------------------------------------------------------------------------- the sessions
class _Log:
    """Events collected while simulating, as parallel lists (cheaper than small arrays)."""

    def __init__(self) -> None:
        self.user: list[int] = []
        self.item: list[int] = []
        self.kind: list[int] = []
        self.second: list[int] = []
        self.basket: list[int] = []

    def add(self, user: int, items: np.ndarray | list[int], kind: int,
            seconds: np.ndarray | float, basket: int = -1) -> None:
        items = list(items)
        n = len(items)
        self.user += [user] * n
        self.item += items
        self.kind += [kind] * n
        if np.ndim(seconds):
            self.second += np.asarray(seconds, dtype=np.int64).tolist()
        else:
            self.second += [int(seconds)] * n
        self.basket += [basket] * n

    def arrays(self) -> tuple[np.ndarray, ...]:
        """user, item, kind, second, basket (-1: not an order) in the order they were logged."""
        return tuple(np.asarray(column, dtype=np.int64) for column in
                     (self.user, self.item, self.kind, self.second, self.basket))


class _Shop:
    """Catalogue lookups the simulation needs, precomputed once."""

    def __init__(self, catalog: pd.DataFrame) -> None:
        names = [c.name for c in CATEGORIES]
        category = catalog["category"].map({n: k for k, n in enumerate(names)}).to_numpy()
        self.items_of = [np.flatnonzero(category == k) for k in range(len(names))]
        self.category = category
        self.key = catalog["compatibility"].fillna("").to_numpy().astype(str)
        self.links_of = {names.index(n): [(k, lk) for k, lk in enumerate(LINKS) if lk.device == n]
                         for n in names}
        self.accessory = [names.index(lk.accessory) for lk in LINKS]

    def compatible(self, link: int, key: str, items: np.ndarray) -> np.ndarray:
        if LINKS[link].match == "any":
            return np.ones(len(items), dtype=bool)
        return self.key[items] == key


def _pick(rng: np.random.Generator, scores: np.ndarray, k: int) -> np.ndarray:
    """k draws without replacement with probabilities softmax(scores) (Gumbel top-k)."""
    noisy = scores + rng.gumbel(size=len(scores))
    return np.argsort(-noisy, kind="stable")[:k]


def simulate(rng: np.random.Generator, catalog: pd.DataFrame, users: Shoppers) -> _Log:
    """Run every user's sessions; see the module docstring for the rules."""
    shop = _Shop(catalog)
    log = _Log()
    n_sessions = np.maximum(1, np.round(rng.lognormal(np.log(SESSIONS_MEDIAN), SESSIONS_SIGMA,
                                                      size=N_USERS))).astype(int)
    cumulative = np.cumsum(users.preference, axis=1)
    cumulative /= cumulative[:, -1:]
    next_basket = 0
    for user in range(N_USERS):
        starts = np.sort(rng.uniform(0, DAYS * 86400 - 3600, size=n_sessions[user]))
        owned: dict[tuple[int, str], None] = {}  # (link, key) of devices bought; ordered
        for start in starts:
            if owned and rng.random() < P_ACCESSORY_SESSION:
                category, boost = _accessory_category(rng, shop, owned)
            else:
                category = int(np.searchsorted(cumulative[user], rng.random(), side="right"))
                boost = []
            if _session(rng, shop, users, user, category, boost, start, owned, log,
                        next_basket):
                next_basket += 1
    _cover_every_item(rng, shop, users, log)
    return log


def _accessory_category(rng: np.random.Generator, shop: _Shop,
                        owned: dict) -> tuple[int, list[str]]:
    """An accessory category of a device owned, and the keys of all devices it fits."""
    keys = list(owned)
    link, _ = keys[int(rng.integers(len(keys)))]
    accessory = shop.accessory[link]
    return accessory, [k for (lk, k) in keys if shop.accessory[lk] == accessory and k]


def _session(rng: np.random.Generator, shop: _Shop, users: Shoppers, user: int, category: int,
             boost: list[str], start: float, owned: dict, log: _Log, basket: int) -> bool:
    """One visit: views, carts, an order with its complements. Returns whether it bought."""
    items = shop.items_of[category]
    scores = users.scores[user, items]
    if boost:
        scores = scores + COMPAT_BOOST * np.isin(shop.key[items], boost)
    n_views = min(1 + int(rng.poisson(VIEWS_POISSON)), len(items))
    viewed = items[_pick(rng, scores, n_views)]
    seen_at = start + np.cumsum(5 + rng.exponential(45, size=n_views))
    log.add(user, viewed, 0, seen_at)
    in_cart = rng.random(n_views) < P_CART
    log.add(user, viewed[in_cart], 1, seen_at[in_cart] + 3 + rng.exponential(20, in_cart.sum()))
    bought = viewed[in_cart][rng.random(int(in_cart.sum())) < P_BUY].tolist()
    if not bought:
        return False
    clock = seen_at[-1] + 120
    for item in list(bought):
        bought += _complements(rng, shop, users, user, item, owned, log, clock)
    log.add(user, bought, 2, clock + 60, basket)
    return True


def _complements(rng: np.random.Generator, shop: _Shop, users: Shoppers, user: int,
                 device: int, owned: dict, log: _Log, clock: float) -> list[int]:
    """Accessories added to the order of ``device`` (cart events logged; purchases later)."""
    added = []
    for link, spec in shop.links_of[shop.category[device]]:
        key = shop.key[device] if spec.match != "any" else ""
        owned[(link, key)] = None
        if rng.random() >= spec.p:
            continue
        items = shop.items_of[shop.accessory[link]]
        items = items[shop.compatible(link, key, items)]
        if len(items) == 0:
            continue
        item = int(items[_pick(rng, users.scores[user, items], 1)[0]])
        log.add(user, [item], 1, clock + 5 + rng.exponential(10))
        added.append(item)
    return added


def _cover_every_item(rng: np.random.Generator, shop: _Shop, users: Shoppers,
                      log: _Log) -> None:
    """Give items nobody looked at one view, by a user keen on their category."""
    seen = np.zeros(len(shop.category), dtype=bool)
    seen[log.arrays()[1]] = True
    for item in np.flatnonzero(~seen):
        keen = users.preference[:, shop.category[item]] * rng.random(N_USERS)
        log.add(int(np.argmax(keen)), [int(item)], 0, rng.uniform(0, DAYS * 86400))


# ---------------------------------------------------------------------------- assembling
def generate(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The three public tables, ``{"items", "users", "events"}``, for ``seed``.

    Examples
    --------
    >>> frames = generate()
    >>> sorted(frames)
    ['events', 'items', 'users']
    """
    rng = np.random.default_rng(seed)
    catalog = build_catalog(rng)
    users = build_users(rng, catalog)
    log = simulate(rng, catalog, users)
    return {"items": _public_items(catalog), "users": users.frame,
            "events": _events_frame(log, catalog, users)}


def _public_items(catalog: pd.DataFrame) -> pd.DataFrame:
    columns = ["item_id", "title", "category", "brand", "price", "description", "compatibility"]
    items = catalog[columns].copy()
    items["compatibility"] = items["compatibility"].replace("", None)
    return items


def _events_frame(log: _Log, catalog: pd.DataFrame, users: Shoppers) -> pd.DataFrame:
    user, item, kind, second, basket = log.arrays()
    # Time first; within a second keep the user and the order the simulation wrote them in.
    order = np.lexsort((np.arange(len(user)), user, second))
    basket = basket[order]
    # Order ids count up in time like a shop's: renumber by first appearance.
    is_order = basket >= 0
    codes, _ = pd.factorize(basket[is_order])
    basket_id = pd.array(np.full(len(basket), pd.NA), dtype="Int64")
    basket_id[is_order] = 100001 + codes
    return pd.DataFrame({
        "user_id": users.frame["user_id"].to_numpy()[user[order]],
        "item_id": catalog["item_id"].to_numpy()[item[order]],
        "event": np.array(EVENT_TYPES, dtype=object)[kind[order]],
        "timestamp": START + pd.to_timedelta(second[order], unit="s"),
        "basket_id": basket_id,
    })


# ---------------------------------------------------------------------------- writing
def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The CSV text of ``frame`` exactly as written (fixed float and date formats, LF)."""
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.2f",
                        date_format="%Y-%m-%d %H:%M:%S").encode("utf-8")


def write_gzip(path: Path, data: bytes) -> None:
    """Gzip ``data`` into ``path`` with no name and time in the header, so bytes repeat."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                compresslevel=9, mtime=0) as out:
        out.write(data)


def summary(frames: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Headline numbers of a generated data set (also written into the README)."""
    events = frames["events"]
    counts = events["item_id"].value_counts().to_numpy()
    top = max(1, len(frames["items"]) // 10)
    return {
        "users": len(frames["users"]),
        "items": len(frames["items"]),
        "events": len(events),
        "views": int((events["event"] == "view").sum()),
        "carts": int((events["event"] == "cart").sum()),
        "purchases": int((events["event"] == "purchase").sum()),
        "orders": int(events["basket_id"].nunique()),
        "top_10pct_item_share": round(float(np.sort(counts)[::-1][:top].sum() / counts.sum()), 3),
    }


def readme(frames: dict[str, pd.DataFrame], seed: int) -> str:
    facts = summary(frames)
    lines = [
        "# Demo data set (generated, do not edit)",
        "",
        "Written by `python -m recsys.datasets.make_demo` with seed "
        f"{seed}; load it with `recsys.datasets.demo()`. The generator's docstring explains",
        "how users, items, sessions and complements are simulated.",
        "",
        "| file | columns |",
        "| --- | --- |",
        "| items.csv.gz | item_id, title, category, brand, price, description, compatibility |",
        "| users.csv.gz | user_id, age_group, region |",
        "| events.csv.gz | user_id, item_id, event (view/cart/purchase), timestamp, basket_id |",
        "",
        "| fact | value |",
        "| --- | --- |",
        *[f"| {name} | {value} |" for name, value in facts.items()],
        "",
        "Complement pairs planted (device category -> accessory category, how they match, "
        "chance in the same order):",
        "",
        *[f"- {lk.device} -> {lk.accessory} ({lk.match}, {lk.p:.0%})" for lk in LINKS],
        "",
    ]
    return "\n".join(lines)


def write(out_dir: str | Path | None = None, seed: int = SEED) -> Path:
    """Generate the demo data set and write its files into ``out_dir`` (created if needed).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sorted(p.name for p in write(tmp).iterdir())
    ['README.md', 'events.csv.gz', 'items.csv.gz', 'users.csv.gz']
    """
    folder = Path(out_dir) if out_dir is not None else default_output()
    folder.mkdir(parents=True, exist_ok=True)
    frames = generate(seed)
    for name in ("items", "users", "events"):
        write_gzip(folder / f"{name}.csv.gz", csv_bytes(frames[name]))
    (folder / "README.md").write_text(readme(frames, seed), encoding="utf-8", newline="\n")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m recsys.datasets.make_demo [OUT_DIR]  (default: data/demo)"
    if args and args[0] in ("-h", "--help"):
        print(usage)
        return 0
    if len(args) > 1:
        print(usage, file=sys.stderr)
        return 2
    folder = write(args[0] if args else None)
    total = sum(p.stat().st_size for p in folder.iterdir())
    print(f"wrote {folder} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
