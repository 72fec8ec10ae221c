"""``OfflineToolWorld``: 35 deterministic APIs over data shipped in the package, seeded faults, gold answers.

Five categories, ten tools: places and weather, currency and units, a shop catalogue with shipping, a
calendar with public holidays, a small encyclopedia with a dictionary (``world_data.json``). Every API checks
its arguments (a missing or wrong one gives code 12 with a message naming it); with ``fault_rate > 0`` a valid
call fails now and then with one of ToolBench's transient codes (rate limit 10, API not working 6, malformed
response 11, timeout 5), decided by a hash of the seed, the call and how often that same call was made since
:meth:`~hf_ext.agents.tools.base.ToolEnvironment.reset`, so a run is reproducible and a retry can succeed.

:meth:`OfflineToolWorld.generate_queries` writes queries in ToolBench's format (``api_list``, ``query``,
``relevant APIs``, ``query_id``) for groups G1 (one tool), G2 (several tools of one category) and G3 (tools
of several categories), each with a ``gold_answer`` (numbers and words the final answer must contain) that
:meth:`OfflineToolWorld.check_answer` checks exactly, and a reference ``solution`` (the calls that find it),
which scripted policies use and agents never see.

Example:
    >>> from hf_ext.agents.tools import OfflineToolWorld
    >>> world = OfflineToolWorld(seed=0)
    >>> query = world.generate_queries(1, group="G3", seed=1)[0]
    >>> sorted(query)
    ['api_list', 'gold_answer', 'group', 'query', 'query_id', 'relevant APIs', 'solution']
    >>> _ = world.reset(query)
    >>> world.call("current_weather_for_weathernow", {"city": "Oslo"}).code
    0
    >>> world.call("current_weather_for_weathernow", {"town": "Oslo"}).code  # bad argument name
    12
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_ext.agents.tools.base import (
    Observation,
    ObservationCode,
    ToolEnvironment,
    api_function_name,
    parse_arguments,
)
from hf_ext.errors import HFExtError

DATA_FILE = Path(__file__).with_name("world_data.json")
GROUPS = ("G1", "G2", "G3")
FAULT_KINDS: dict[str, tuple[ObservationCode, str]] = {
    "rate_limit": (ObservationCode.RATE_LIMIT, "Rate limit per minute error..."),
    "not_working": (ObservationCode.API_NOT_WORKING, "API not working error..."),
    "malformed": (ObservationCode.MESSAGE_ERROR, "Message error..."),
    "timeout": (ObservationCode.TIMEOUT, "Timeout error..."),
}


@functools.cache
def world_data() -> dict[str, Any]:
    """The shipped world (read once): cities, currencies, units, products, shipping, events, entities..."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


class BadArguments(Exception):
    """An API refused its arguments; the message names the parameter."""


# ---------------------------------------------------------------------------------------------------------
# The APIs. Each takes the world data and the parsed arguments and returns a JSON-able response.


def _find(items: list[dict], key: str, value: Any, what: str) -> dict:
    for item in items:
        if str(item[key]).lower() == str(value).strip().lower():
            return item
    raise BadArguments(f"unknown {what} {value!r}")


def _city(d: dict, a: dict) -> dict:
    return _find(d["cities"], "name", a["city"], "city")


def _product(d: dict, a: dict) -> dict:
    return _find(d["products"], "id", a["product_id"], "product_id")


def _entity(d: dict, a: dict) -> dict:
    return _find(d["entities"], "name", a["name"], "entity")


def _word(d: dict, a: dict) -> dict:
    entry = d["words"].get(str(a["word"]).strip().lower())
    if entry is None:
        raise BadArguments(f"unknown word {a['word']!r}")
    return entry


def _currency(d: dict, code: Any, name: str) -> float:
    rate = d["currencies"].get(str(code).strip().upper())
    if rate is None:
        raise BadArguments(f"unknown currency code {code!r} for {name}")
    return rate


def _number(a: dict, name: str) -> float:
    try:
        return float(a[name])
    except (TypeError, ValueError):
        raise BadArguments(f"parameter {name!r} must be a number, got {a[name]!r}") from None


def _date(a: dict, name: str = "date") -> _dt.date:
    try:
        return _dt.date.fromisoformat(str(a[name]))
    except ValueError:
        raise BadArguments(f"parameter {name!r} must be a date YYYY-MM-DD, got {a[name]!r}") from None


def _convert(table: dict[str, float], a: dict) -> float:
    source, target = str(a["from_unit"]).lower(), str(a["to_unit"]).lower()
    for unit, name in ((source, "from_unit"), (target, "to_unit")):
        if unit not in table:
            raise BadArguments(f"unknown unit {unit!r} for {name}; use one of {sorted(table)}")
    return round(_number(a, "value") * table[source] / table[target], 2)


def _temperature(a: dict) -> float:
    value, source, target = _number(a, "value"), str(a["from_unit"]).upper(), str(a["to_unit"]).upper()
    to_celsius = {"C": lambda v: v, "F": lambda v: (v - 32) * 5 / 9, "K": lambda v: v - 273.15}
    from_celsius = {"C": lambda v: v, "F": lambda v: v * 9 / 5 + 32, "K": lambda v: v + 273.15}
    if source not in to_celsius or target not in from_celsius:
        raise BadArguments("from_unit and to_unit must be C, F or K")
    return round(from_celsius[target](to_celsius[source](value)), 2)


def _free_slots(d: dict, a: dict) -> list[str]:
    day = _date(a).isoformat()
    busy = sorted((e["start"], e["end"]) for e in d["events"] if e["date"] == day)
    slots, cursor = [], d["work_hours"][0]
    for start, end in busy:
        if start > cursor:
            slots.append(f"{cursor}-{start}")
        cursor = max(cursor, end)
    if cursor < d["work_hours"][1]:
        slots.append(f"{cursor}-{d['work_hours'][1]}")
    return slots


def _holidays(d: dict, a: dict) -> list[list[str]]:
    name = str(a["country"]).strip().lower()
    for country, days in d["holidays"].items():
        if country.lower() == name:
            return days
    raise BadArguments(f"unknown country {a['country']!r}")


def _shipping(d: dict, a: dict) -> dict:
    name = str(a["country"]).strip().lower()
    for country, rule in d["shipping"].items():
        if country.lower() == name:
            return rule
    raise BadArguments(f"no shipping to {a['country']!r}")


def _entity_fact(d: dict, a: dict) -> dict:
    entity = _entity(d, a)
    name = str(a["field"]).strip().lower()
    if name not in entity:
        raise BadArguments(f"{entity['name']} has no field {a['field']!r}; fields: {sorted(entity)}")
    return {"name": entity["name"], "field": name, "value": entity[name]}


def _fx(d: dict, a: dict) -> float:
    return _currency(d, a["target"], "target") / _currency(d, a["base"], "base")


@dataclass(frozen=True)
class WorldAPI:
    """One API of the world: where it lives, its parameters ``(name, type, description)`` and its code."""

    category: str
    tool: str
    name: str
    description: str
    required: tuple[tuple[str, str, str], ...]
    run: Callable[[dict, dict], Any]
    optional: tuple[tuple[str, str, str], ...] = ()

    @property
    def function_name(self) -> str:
        return api_function_name(self.tool, self.name)

    def api_list_entry(self) -> dict[str, Any]:
        """This API as one ``api_list`` entry of a ToolBench query."""

        def params(items):
            return [{"name": n, "type": t, "description": s, "default": ""} for n, t, s in items]

        return {
            "category_name": self.category,
            "tool_name": self.tool,
            "api_name": self.name,
            "api_description": self.description,
            "required_parameters": params(self.required),
            "optional_parameters": params(self.optional),
            "method": "GET",
            "tool_description": TOOL_DESCRIPTIONS[self.tool],
        }


S, N = "STRING", "NUMBER"
CITY = ("city", S, "city name, e.g. Lisbon")
PRODUCT = ("product_id", S, "catalogue id such as P100")
COUNTRY = ("country", S, "country name")
DATE = ("date", S, "date as YYYY-MM-DD")
UNITS = (("value", N, "amount to convert"), ("from_unit", S, "unit of value"), ("to_unit", S, "wanted unit"))

TOOL_DESCRIPTIONS = {
    "GeoPlaces": "Facts about cities: location, population, time zone.",
    "WeatherNow": "Current weather, five-day forecasts and air quality for major cities.",
    "FXRates": "Currency exchange rates and conversions.",
    "UnitConverter": "Converts lengths, weights and temperatures.",
    "ShopCatalogue": "A small online shop: product search, prices, stock and reviews.",
    "ShipFast": "Shipping quotes and delivery times by destination country.",
    "TeamCalendar": "The user's work calendar for the first week of March 2025.",
    "WorldHolidays": "Public holidays by country and days of the week.",
    "MiniPedia": "A small encyclopedia of countries, rivers and mountains.",
    "WordBook": "An English dictionary: definitions, synonyms, parts of speech.",
}

APIS: tuple[WorldAPI, ...] = (
    WorldAPI(
        "Weather",
        "GeoPlaces",
        "search_city",
        "Location, country and time zone of a city.",
        (CITY,),
        lambda d, a: {k: _city(d, a)[k] for k in ("name", "country", "lat", "lon", "timezone")},
    ),
    WorldAPI(
        "Weather",
        "GeoPlaces",
        "city_population",
        "Population of a city.",
        (CITY,),
        lambda d, a: {"city": _city(d, a)["name"], "population": _city(d, a)["population"]},
    ),
    WorldAPI(
        "Weather",
        "GeoPlaces",
        "cities_in_country",
        "Cities of a country known to the service.",
        (COUNTRY,),
        lambda d, a: (
            [c["name"] for c in d["cities"] if c["country"].lower() == str(a["country"]).lower()]
            or _raise(f"unknown country {a['country']!r}")
        ),
    ),
    WorldAPI(
        "Weather",
        "GeoPlaces",
        "city_timezone",
        "IANA time zone of a city.",
        (CITY,),
        lambda d, a: {"city": _city(d, a)["name"], "timezone": _city(d, a)["timezone"]},
    ),
    WorldAPI(
        "Weather",
        "WeatherNow",
        "current_weather",
        "Current temperature (Celsius), sky and humidity.",
        (CITY,),
        lambda d, a: {
            "city": _city(d, a)["name"],
            **{k: _city(d, a)["weather"][k] for k in ("temp_c", "condition", "humidity")},
        },
    ),
    WorldAPI(
        "Weather",
        "WeatherNow",
        "forecast",
        "Daily mean temperature (Celsius) for the next days.",
        (CITY, ("days", N, "number of days, 1 to 5")),
        lambda d, a: _forecast(d, a),
    ),
    WorldAPI(
        "Weather",
        "WeatherNow",
        "air_quality",
        "Air quality index of a city.",
        (CITY,),
        lambda d, a: {"city": _city(d, a)["name"], "aqi": _city(d, a)["weather"]["aqi"]},
    ),
    WorldAPI(
        "Weather",
        "WeatherNow",
        "wind_speed",
        "Current wind speed in km/h.",
        (CITY,),
        lambda d, a: {"city": _city(d, a)["name"], "wind_kph": _city(d, a)["weather"]["wind_kph"]},
    ),
    WorldAPI(
        "Finance",
        "FXRates",
        "exchange_rate",
        "Units of target currency per unit of base currency.",
        (("base", S, "ISO code, e.g. USD"), ("target", S, "ISO code, e.g. EUR")),
        lambda d, a: {"base": a["base"], "target": a["target"], "rate": round(_fx(d, a), 4)},
    ),
    WorldAPI(
        "Finance",
        "FXRates",
        "convert_currency",
        "Convert an amount between currencies.",
        (("amount", N, "amount in base currency"), ("base", S, "ISO code"), ("target", S, "ISO code")),
        lambda d, a: {
            "amount": _number(a, "amount"),
            "base": a["base"],
            "target": a["target"],
            "result": round(_number(a, "amount") * _fx(d, a), 2),
        },
    ),
    WorldAPI(
        "Finance",
        "FXRates",
        "list_currencies",
        "All supported currency codes.",
        (),
        lambda d, a: sorted(d["currencies"]),
    ),
    WorldAPI(
        "Finance",
        "FXRates",
        "currency_name",
        "The name of a currency code.",
        (("code", S, "ISO code"),),
        lambda d, a: {
            "code": a["code"],
            "name": d["currency_names"].get(str(a["code"]).upper())
            or _raise(f"unknown currency code {a['code']!r}"),
        },
    ),
    WorldAPI(
        "Finance",
        "UnitConverter",
        "convert_length",
        "Convert between m, km, cm, mile, ft and inch.",
        UNITS,
        lambda d, a: {"result": _convert(d["length_units_m"], a), "unit": a["to_unit"]},
    ),
    WorldAPI(
        "Finance",
        "UnitConverter",
        "convert_weight",
        "Convert between kg, g, lb and oz.",
        UNITS,
        lambda d, a: {"result": _convert(d["weight_units_kg"], a), "unit": a["to_unit"]},
    ),
    WorldAPI(
        "Finance",
        "UnitConverter",
        "convert_temperature",
        "Convert between C, F and K.",
        UNITS,
        lambda d, a: {"result": _temperature(a), "unit": str(a["to_unit"]).upper()},
    ),
    WorldAPI(
        "Commerce",
        "ShopCatalogue",
        "search_products",
        "Products whose name contains the query.",
        (("query", S, "words of the product name"),),
        lambda d, a: [
            {"product_id": p["id"], "name": p["name"]}
            for p in d["products"]
            if str(a["query"]).strip().lower() in p["name"]
        ],
    ),
    WorldAPI(
        "Commerce",
        "ShopCatalogue",
        "product_details",
        "Everything about one product.",
        (PRODUCT,),
        lambda d, a: _product(d, a),
    ),
    WorldAPI(
        "Commerce",
        "ShopCatalogue",
        "product_price",
        "Price of a product in USD.",
        (PRODUCT,),
        lambda d, a: {"product_id": _product(d, a)["id"], "price_usd": _product(d, a)["price_usd"]},
    ),
    WorldAPI(
        "Commerce",
        "ShopCatalogue",
        "product_stock",
        "Units in stock.",
        (PRODUCT,),
        lambda d, a: {"product_id": _product(d, a)["id"], "stock": _product(d, a)["stock"]},
    ),
    WorldAPI(
        "Commerce",
        "ShopCatalogue",
        "product_reviews",
        "Average rating and number of reviews.",
        (PRODUCT,),
        lambda d, a: {k: _product(d, a)[k] for k in ("id", "rating", "reviews")},
    ),
    WorldAPI(
        "Commerce",
        "ShipFast",
        "shipping_quote",
        "Shipping cost in USD of one product to a country.",
        (PRODUCT, COUNTRY),
        lambda d, a: {
            "product_id": _product(d, a)["id"],
            "country": a["country"],
            "cost_usd": round(
                _shipping(d, a)["base_usd"] + _shipping(d, a)["per_kg_usd"] * _product(d, a)["weight_kg"], 2
            ),
        },
    ),
    WorldAPI(
        "Commerce",
        "ShipFast",
        "delivery_days",
        "Delivery time in days to a country.",
        (COUNTRY,),
        lambda d, a: {"country": a["country"], "days": _shipping(d, a)["days"]},
    ),
    WorldAPI(
        "Calendar",
        "TeamCalendar",
        "list_events",
        "Events on a date.",
        (DATE,),
        lambda d, a: [e for e in d["events"] if e["date"] == _date(a).isoformat()],
    ),
    WorldAPI(
        "Calendar",
        "TeamCalendar",
        "event_details",
        "One event by id.",
        (("event_id", S, "id such as E3"),),
        lambda d, a: _find(d["events"], "id", a["event_id"], "event_id"),
    ),
    WorldAPI(
        "Calendar",
        "TeamCalendar",
        "find_event",
        "Events whose title contains a keyword.",
        (("keyword", S, "word of the title"),),
        lambda d, a: [e for e in d["events"] if str(a["keyword"]).strip().lower() in e["title"]],
    ),
    WorldAPI(
        "Calendar",
        "TeamCalendar",
        "free_slots",
        "Free time within work hours on a date.",
        (DATE,),
        lambda d, a: {"date": _date(a).isoformat(), "free": _free_slots(d, a)},
    ),
    WorldAPI(
        "Calendar",
        "WorldHolidays",
        "public_holidays",
        "Public holidays of a country in 2025.",
        (COUNTRY,),
        lambda d, a: [{"date": day, "name": name} for day, name in _holidays(d, a)],
    ),
    WorldAPI(
        "Calendar",
        "WorldHolidays",
        "day_of_week",
        "The weekday of a date.",
        (DATE,),
        lambda d, a: {"date": _date(a).isoformat(), "weekday": _date(a).strftime("%A")},
    ),
    WorldAPI(
        "Calendar",
        "WorldHolidays",
        "days_between",
        "Days from one date to another.",
        (("start", S, "YYYY-MM-DD"), ("end", S, "YYYY-MM-DD")),
        lambda d, a: {"days": (_date(a, "end") - _date(a, "start")).days},
    ),
    WorldAPI(
        "Knowledge",
        "MiniPedia",
        "lookup_entity",
        "All facts about a country, river or mountain.",
        (("name", S, "entity name"),),
        lambda d, a: _entity(d, a),
    ),
    WorldAPI(
        "Knowledge",
        "MiniPedia",
        "entity_fact",
        "One fact (e.g. capital, currency, height_m).",
        (("name", S, "entity name"), ("field", S, "fact name")),
        _entity_fact,
    ),
    WorldAPI(
        "Knowledge",
        "MiniPedia",
        "search_entities",
        "Entities of a type (country, river, mountain).",
        (("type", S, "entity type"),),
        lambda d, a: [e["name"] for e in d["entities"] if e["type"] == str(a["type"]).strip().lower()],
    ),
    WorldAPI(
        "Knowledge",
        "WordBook",
        "define_word",
        "Definition of an English word.",
        (("word", S, "the word"),),
        lambda d, a: {"word": a["word"], "definition": _word(d, a)["definition"]},
    ),
    WorldAPI(
        "Knowledge",
        "WordBook",
        "synonyms",
        "Synonyms of an English word.",
        (("word", S, "the word"),),
        lambda d, a: {"word": a["word"], "synonyms": _word(d, a)["synonyms"]},
    ),
    WorldAPI(
        "Knowledge",
        "WordBook",
        "part_of_speech",
        "Part of speech of a word.",
        (("word", S, "the word"),),
        lambda d, a: {"word": a["word"], "part_of_speech": _word(d, a)["part_of_speech"]},
    ),
)


def _raise(message: str):
    raise BadArguments(message)


def _forecast(d: dict, a: dict) -> dict:
    days = int(_number(a, "days"))
    if not 1 <= days <= 5:
        raise BadArguments("parameter 'days' must be between 1 and 5")
    city = _city(d, a)
    return {"city": city["name"], "daily_temp_c": city["forecast_c"][:days]}


APIS_BY_FUNCTION: dict[str, WorldAPI] = {api.function_name: api for api in APIS}


def tool_apis(tool: str) -> list[WorldAPI]:
    """All APIs of one tool, in declaration order."""
    return [api for api in APIS if api.tool == tool]


# ---------------------------------------------------------------------------------------------------------
# Answer checking.

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def answer_numbers(text: str) -> list[float]:
    """Every number written in ``text`` (thousands separators allowed)."""
    return [float(m.replace(",", "")) for m in _NUMBER.findall(text)]


def check_answer(gold: list[Any], answer: str | None) -> bool:
    """True when ``answer`` contains every gold item: numbers equal to two decimals, words case-insensitively.

    >>> check_answer([19.5, "sunny"], "It is 19.50 C and Sunny in Lisbon.")
    True
    >>> check_answer([1234.5], "about 1,234")
    False
    """
    if not answer:
        return False
    numbers = answer_numbers(answer)
    for item in gold:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if not any(abs(round(n, 2) - round(float(item), 2)) < 1e-9 for n in numbers):
                return False
        elif str(item).lower() not in answer.lower():
            return False
    return True


# ---------------------------------------------------------------------------------------------------------
# Query templates: (group, tools, relevant (tool, api) pairs, builder(rng, data) -> (text, gold)).


def _call(tool: str, api: str, **arguments: Any) -> dict[str, Any]:
    return {"name": api_function_name(tool, api), "arguments": arguments}


def _q_temperature(rng, d):
    c = rng.choice(d["cities"])
    text = f"What is the temperature in {c['name']} right now?"
    return text, [c["weather"]["temp_c"]], [_call("WeatherNow", "current_weather", city=c["name"])]


def _q_forecast(rng, d):
    c, day = rng.choice(d["cities"]), rng.randint(1, 5)
    text = f"What mean temperature is forecast for {c['name']} on day {day} of the five-day forecast?"
    return text, [c["forecast_c"][day - 1]], [_call("WeatherNow", "forecast", city=c["name"], days=day)]


def _q_convert(rng, d):
    base, target = rng.sample(sorted(d["currencies"]), 2)
    amount = rng.choice([10, 25, 50, 100, 250, 1000])
    value = round(amount * d["currencies"][target] / d["currencies"][base], 2)
    solution = [_call("FXRates", "convert_currency", amount=amount, base=base, target=target)]
    return f"How much is {amount} {base} in {target}?", [value], solution


def _q_price(rng, d):
    p = rng.choice(d["products"])
    solution = [
        _call("ShopCatalogue", "search_products", query=p["name"]),
        _call("ShopCatalogue", "product_price", product_id=p["id"]),
    ]
    return f"How much does the {p['name']} cost in the shop?", [p["price_usd"]], solution


def _q_stock(rng, d):
    p = rng.choice(d["products"])
    solution = [
        _call("ShopCatalogue", "search_products", query=p["name"]),
        _call("ShopCatalogue", "product_stock", product_id=p["id"]),
    ]
    return f"How many units of the {p['name']} are in stock?", [p["stock"]], solution


def _q_event(rng, d):
    e = rng.choice(d["events"])
    solution = [_call("TeamCalendar", "find_event", keyword=e["title"])]
    return f"At what time does my {e['title']} start?", [e["start"]], solution


def _q_capital(rng, d):
    e = rng.choice([x for x in d["entities"] if x["type"] == "country"])
    solution = [_call("MiniPedia", "entity_fact", name=e["name"], field="capital")]
    return f"What is the capital of {e['name']}?", [e["capital"]], solution


def _q_height(rng, d):
    e = rng.choice([x for x in d["entities"] if x["type"] == "mountain"])
    solution = [_call("MiniPedia", "entity_fact", name=e["name"], field="height_m")]
    return f"How high is {e['name']} in metres?", [e["height_m"]], solution


def _q_pos(rng, d):
    word = rng.choice(sorted(d["words"]))
    solution = [_call("WordBook", "part_of_speech", word=word)]
    return f"What part of speech is the word '{word}'?", [d["words"][word]["part_of_speech"]], solution


def _q_length(rng, d):
    value = rng.choice([3, 5, 10, 21, 42])
    miles = round(value * 1000 / d["length_units_m"]["mile"], 2)
    solution = [_call("UnitConverter", "convert_length", value=value, from_unit="km", to_unit="mile")]
    return f"How many miles are {value} km?", [miles], solution


def _q_holiday(rng, d):
    country = rng.choice(sorted(d["holidays"]))
    day, name = rng.choice(d["holidays"][country])
    solution = [_call("WorldHolidays", "public_holidays", country=country)]
    return f"On what date is {name} celebrated in {country} in 2025?", [day], solution


def _q_population_weather(rng, d):
    c = rng.choice(d["cities"])
    solution = [
        _call("GeoPlaces", "city_population", city=c["name"]),
        _call("WeatherNow", "current_weather", city=c["name"]),
    ]
    text = f"What is the population of {c['name']} and its current temperature?"
    return text, [c["population"], c["weather"]["temp_c"]], solution


def _q_buy_and_ship(rng, d):
    p, country = rng.choice(d["products"]), rng.choice(sorted(d["shipping"]))
    rule = d["shipping"][country]
    total = round(p["price_usd"] + round(rule["base_usd"] + rule["per_kg_usd"] * p["weight_kg"], 2), 2)
    solution = [
        _call("ShopCatalogue", "search_products", query=p["name"]),
        _call("ShopCatalogue", "product_price", product_id=p["id"]),
        _call("ShipFast", "shipping_quote", product_id=p["id"], country=country),
    ]
    return (
        f"What is the total cost in USD to buy the {p['name']} and ship it to {country}?",
        [total],
        solution,
    )


def _q_length_and_money(rng, d):
    km, amount = rng.choice([5, 10, 42]), rng.choice([20, 100, 500])
    miles = round(km * 1000 / d["length_units_m"]["mile"], 2)
    eur = round(amount * d["currencies"]["EUR"] / d["currencies"]["USD"], 2)
    solution = [
        _call("UnitConverter", "convert_length", value=km, from_unit="km", to_unit="mile"),
        _call("FXRates", "convert_currency", amount=amount, base="USD", target="EUR"),
    ]
    return f"Convert {km} km to miles and {amount} USD to EUR.", [miles, eur], solution


def _q_event_weekday(rng, d):
    e = rng.choice(d["events"])
    weekday = _dt.date.fromisoformat(e["date"]).strftime("%A")
    solution = [
        _call("TeamCalendar", "find_event", keyword=e["title"]),
        _call("WorldHolidays", "day_of_week", date=e["date"]),
    ]
    return f"On which day of the week is my {e['title']}?", [weekday], solution


def _q_capital_and_word(rng, d):
    e = rng.choice([x for x in d["entities"] if x["type"] == "country"])
    word = rng.choice(sorted(d["words"]))
    solution = [
        _call("MiniPedia", "entity_fact", name=e["name"], field="capital"),
        _call("WordBook", "part_of_speech", word=word),
    ]
    text = f"What is the capital of {e['name']}, and what part of speech is '{word}'?"
    return text, [e["capital"], d["words"][word]["part_of_speech"]], solution


def _q_price_in_currency(rng, d):
    p, code = rng.choice(d["products"]), rng.choice(["EUR", "GBP", "JPY", "NOK", "CAD"])
    solution = [
        _call("ShopCatalogue", "search_products", query=p["name"]),
        _call("ShopCatalogue", "product_price", product_id=p["id"]),
        _call("FXRates", "convert_currency", amount=p["price_usd"], base="USD", target=code),
    ]
    text = f"How much does the {p['name']} cost in {code}?"
    return text, [round(p["price_usd"] * d["currencies"][code], 2)], solution


def _q_capital_weather(rng, d):
    e = rng.choice([x for x in d["entities"] if x["type"] == "country"])
    city = _find(d["cities"], "name", e["capital"], "city")
    solution = [
        _call("MiniPedia", "entity_fact", name=e["name"], field="capital"),
        _call("WeatherNow", "current_weather", city=city["name"]),
    ]
    text = f"What is the current temperature in the capital of {e['name']}?"
    return text, [city["weather"]["temp_c"]], solution


def _q_capital_fahrenheit(rng, d):
    e = rng.choice([x for x in d["entities"] if x["type"] == "country"])
    city = _find(d["cities"], "name", e["capital"], "city")
    fahrenheit = round(city["weather"]["temp_c"] * 9 / 5 + 32, 2)
    solution = [
        _call("MiniPedia", "entity_fact", name=e["name"], field="capital"),
        _call("WeatherNow", "current_weather", city=city["name"]),
        _call(
            "UnitConverter",
            "convert_temperature",
            value=city["weather"]["temp_c"],
            from_unit="C",
            to_unit="F",
        ),
    ]
    text = f"What is the current temperature in Fahrenheit in the capital of {e['name']}?"
    return text, [fahrenheit], solution


def _q_local_currency(rng, d):
    e = rng.choice([x for x in d["entities"] if x["type"] == "country"])
    amount = rng.choice([10, 100, 1000])
    value = round(amount * d["currencies"][e["currency"]], 2)
    solution = [
        _call("MiniPedia", "entity_fact", name=e["name"], field="currency"),
        _call("FXRates", "convert_currency", amount=amount, base="USD", target=e["currency"]),
    ]
    return f"How much is {amount} USD in the local currency of {e['name']}?", [value], solution


TEMPLATES: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], Callable], ...] = (
    ("G1", ("WeatherNow",), (("WeatherNow", "current_weather"),), _q_temperature),
    ("G1", ("WeatherNow",), (("WeatherNow", "forecast"),), _q_forecast),
    ("G1", ("FXRates",), (("FXRates", "convert_currency"),), _q_convert),
    (
        "G1",
        ("ShopCatalogue",),
        (("ShopCatalogue", "search_products"), ("ShopCatalogue", "product_price")),
        _q_price,
    ),
    (
        "G1",
        ("ShopCatalogue",),
        (("ShopCatalogue", "search_products"), ("ShopCatalogue", "product_stock")),
        _q_stock,
    ),
    ("G1", ("TeamCalendar",), (("TeamCalendar", "find_event"),), _q_event),
    ("G1", ("MiniPedia",), (("MiniPedia", "entity_fact"),), _q_capital),
    ("G1", ("MiniPedia",), (("MiniPedia", "entity_fact"),), _q_height),
    ("G1", ("WordBook",), (("WordBook", "part_of_speech"),), _q_pos),
    ("G1", ("UnitConverter",), (("UnitConverter", "convert_length"),), _q_length),
    ("G1", ("WorldHolidays",), (("WorldHolidays", "public_holidays"),), _q_holiday),
    (
        "G2",
        ("GeoPlaces", "WeatherNow"),
        (("GeoPlaces", "city_population"), ("WeatherNow", "current_weather")),
        _q_population_weather,
    ),
    (
        "G2",
        ("ShopCatalogue", "ShipFast"),
        (
            ("ShopCatalogue", "search_products"),
            ("ShopCatalogue", "product_price"),
            ("ShipFast", "shipping_quote"),
        ),
        _q_buy_and_ship,
    ),
    (
        "G2",
        ("UnitConverter", "FXRates"),
        (("UnitConverter", "convert_length"), ("FXRates", "convert_currency")),
        _q_length_and_money,
    ),
    (
        "G2",
        ("TeamCalendar", "WorldHolidays"),
        (("TeamCalendar", "find_event"), ("WorldHolidays", "day_of_week")),
        _q_event_weekday,
    ),
    (
        "G2",
        ("MiniPedia", "WordBook"),
        (("MiniPedia", "entity_fact"), ("WordBook", "part_of_speech")),
        _q_capital_and_word,
    ),
    (
        "G3",
        ("ShopCatalogue", "FXRates"),
        (
            ("ShopCatalogue", "search_products"),
            ("ShopCatalogue", "product_price"),
            ("FXRates", "convert_currency"),
        ),
        _q_price_in_currency,
    ),
    (
        "G3",
        ("MiniPedia", "WeatherNow"),
        (("MiniPedia", "entity_fact"), ("WeatherNow", "current_weather")),
        _q_capital_weather,
    ),
    (
        "G3",
        ("MiniPedia", "WeatherNow", "UnitConverter"),
        (
            ("MiniPedia", "entity_fact"),
            ("WeatherNow", "current_weather"),
            ("UnitConverter", "convert_temperature"),
        ),
        _q_capital_fahrenheit,
    ),
    (
        "G3",
        ("MiniPedia", "FXRates"),
        (("MiniPedia", "entity_fact"), ("FXRates", "convert_currency")),
        _q_local_currency,
    ),
)


def _unit_interval(*parts: Any) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class OfflineToolWorld(ToolEnvironment):
    """The offline world as a :class:`~hf_ext.agents.tools.base.ToolEnvironment`.

    Args:
        seed: drives the faults (the queries have their own seed in :meth:`generate_queries`).
        fault_rate: probability in [0, 1) that a valid API call fails with one of ``fault_kinds``.
        fault_kinds: names from :data:`FAULT_KINDS` (``rate_limit``, ``not_working``, ``malformed``,
            ``timeout``).
    """

    seed: int = 0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = tuple(FAULT_KINDS)
    _attempts: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate < 1.0:
            raise HFExtError(f"fault_rate must be in [0, 1), got {self.fault_rate}")
        unknown = [kind for kind in self.fault_kinds if kind not in FAULT_KINDS]
        if unknown or not self.fault_kinds:
            raise HFExtError(
                f"fault_kinds must name some of {list(FAULT_KINDS)}, got {list(self.fault_kinds)}"
            )

    def reset(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        self._attempts = {}
        return super().reset(query)

    def _call_api(self, api: dict[str, Any], arguments: str | dict) -> Observation:
        world_api = APIS_BY_FUNCTION.get(api_function_name(api["tool_name"], api["api_name"]))
        if world_api is None:
            return Observation.of(ObservationCode.API_NOT_WORKING, error="API not working error...")
        parsed = parse_arguments(arguments)
        if not isinstance(parsed, dict):
            return Observation.of(
                ObservationCode.REQUEST_ERROR, error="request invalid: arguments are not a JSON object"
            )
        known = {p[0] for p in (*world_api.required, *world_api.optional)}
        missing = [p[0] for p in world_api.required if p[0] not in parsed]
        extra = sorted(set(parsed) - known)
        if missing or extra:
            problem = f"missing parameter {missing[0]!r}" if missing else f"unexpected parameter {extra[0]!r}"
            return Observation.of(ObservationCode.REQUEST_ERROR, error=f"request invalid: {problem}")
        key = f"{world_api.function_name}|{json.dumps(parsed, sort_keys=True)}"
        attempt = self._attempts.get(key, 0)
        self._attempts[key] = attempt + 1
        if self.fault_rate and _unit_interval(self.seed, key, attempt) < self.fault_rate:
            kind = self.fault_kinds[
                int(_unit_interval("kind", self.seed, key, attempt) * len(self.fault_kinds))
            ]
            code, error = FAULT_KINDS[kind]
            response = "<html><body>502 Bad Gateway" if kind == "malformed" else ""
            return Observation.of(code, response=response, error=error)
        try:
            return Observation.of(ObservationCode.OK, response=world_api.run(world_data(), parsed))
        except BadArguments as error:
            return Observation.of(ObservationCode.REQUEST_ERROR, error=f"request invalid: {error}")

    # -- queries ----------------------------------------------------------------------------------------

    @staticmethod
    def generate_queries(
        n: int,
        group: str = "G1",
        seed: int = 0,
        split: str | None = None,
        test_fraction: float = 0.3,
        distractors: int | None = None,
        strict: bool = True,
    ) -> list[dict[str, Any]]:
        """``n`` distinct queries of ``group`` in ToolBench's format, each with a ``gold_answer``.

        ``split="train"`` or ``"test"`` keeps only the queries whose text hashes into that side
        (``test_fraction`` of all texts are test), so train and test never share a query. The ``api_list``
        holds every API of the tools involved (``distractors=None``) or the relevant APIs plus
        ``distractors`` others of those tools (shorter prompts for small models). Raises
        :class:`HFExtError` when the templates cannot give ``n`` distinct queries (``strict=False``: returns
        all there are instead).
        """
        if distractors is not None and distractors < 0:
            raise HFExtError(f"distractors must be >= 0 or None, got {distractors}")
        if group not in GROUPS:
            raise HFExtError(f"group must be one of {list(GROUPS)}, got {group!r}")
        if split not in (None, "train", "test"):
            raise HFExtError(f"split must be 'train', 'test' or None, got {split!r}")
        templates = [t for t in TEMPLATES if t[0] == group]
        rng, data = random.Random(f"{group}-{seed}"), world_data()
        queries: list[dict[str, Any]] = []
        seen: set[str] = set()
        rejected_in_a_row = 0
        while len(queries) < n and rejected_in_a_row < 5000:  # the template space is finite
            _, tools, relevant, build = rng.choice(templates)
            text, gold, solution = build(rng, data)
            is_test = _unit_interval("split", text) < test_fraction
            if text in seen or (split == "train" and is_test) or (split == "test" and not is_test):
                rejected_in_a_row += 1
                continue
            rejected_in_a_row = 0
            seen.add(text)
            candidates = [api for tool in tools for api in tool_apis(tool)]
            if distractors is not None:
                wanted = {pair for pair in relevant}
                others = [api for api in candidates if (api.tool, api.name) not in wanted]
                keep = wanted | {
                    (api.tool, api.name) for api in rng.sample(others, min(distractors, len(others)))
                }
                candidates = [api for api in candidates if (api.tool, api.name) in keep]
            api_list = [api.api_list_entry() for api in candidates]
            queries.append(
                {
                    "api_list": api_list,
                    "query": text,
                    "relevant APIs": [list(pair) for pair in relevant],
                    "query_id": (GROUPS.index(group) + 1) * 10**7 + seed % 1000 * 10**4 + len(queries),
                    "group": group,
                    "gold_answer": gold,
                    "solution": solution,
                }
            )
        if len(queries) < n and strict:
            raise HFExtError(
                f"only {len(queries)} distinct {group} queries (split={split}) exist, asked for {n}"
            )
        return queries

    @staticmethod
    def check_answer(query: dict[str, Any], answer: str | None) -> bool:
        """Whether ``answer`` solves ``query`` (see :func:`check_answer`); no gold answer is an error."""
        if "gold_answer" not in query:
            raise HFExtError(f"query {query.get('query_id')!r} has no 'gold_answer' to check against")
        return check_answer(query["gold_answer"], answer)
