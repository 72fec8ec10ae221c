"""The tool environments: every API of the offline world against its data, faults, queries, cache, HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from hf_ext.agents.tools import (
    APIS,
    CachedToolEnvironment,
    HTTPToolEnvironment,
    ObservationCode,
    OfflineToolWorld,
    check_answer,
)
from hf_ext.agents.tools.cached import cache_file
from hf_ext.agents.tools.offline_world import GROUPS, world_data
from hf_ext.errors import HFExtError

D = world_data()
LISBON = D["cities"][0]
P = D["products"][2]  # noise cancelling headphones, weight 0.3 kg

# function name -> (arguments, expected response), the expectation computed here from the raw data.
CASES = {
    "search_city_for_geoplaces": (
        {"city": "lisbon"},
        {"name": "Lisbon", "country": "Portugal", "lat": 38.72, "lon": -9.14, "timezone": "Europe/Lisbon"},
    ),
    "city_population_for_geoplaces": ({"city": "Oslo"}, {"city": "Oslo", "population": 709000}),
    "cities_in_country_for_geoplaces": ({"country": "Japan"}, ["Osaka", "Tokyo"]),
    "city_timezone_for_geoplaces": ({"city": "Lima"}, {"city": "Lima", "timezone": "America/Lima"}),
    "current_weather_for_weathernow": (
        {"city": "Lisbon"},
        {"city": "Lisbon", "temp_c": 19.5, "condition": "sunny", "humidity": 61},
    ),
    "forecast_for_weathernow": (
        {"city": "Oslo", "days": 3},
        {"city": "Oslo", "daily_temp_c": [3.2, 1.5, -0.8]},
    ),
    "air_quality_for_weathernow": ({"city": "Cairo"}, {"city": "Cairo", "aqi": 95}),
    "wind_speed_for_weathernow": ({"city": "Wellington"}, {"city": "Wellington", "wind_kph": 42}),
    "exchange_rate_for_fxrates": (
        {"base": "EUR", "target": "JPY"},
        {"base": "EUR", "target": "JPY", "rate": round(151.0 / 0.92, 4)},
    ),
    "convert_currency_for_fxrates": (
        {"amount": 100, "base": "USD", "target": "NOK"},
        {"amount": 100.0, "base": "USD", "target": "NOK", "result": 1080.0},
    ),
    "list_currencies_for_fxrates": ({}, sorted(D["currencies"])),
    "currency_name_for_fxrates": ({"code": "kes"}, {"code": "kes", "name": "Kenyan shilling"}),
    "convert_length_for_unitconverter": (
        {"value": 10, "from_unit": "km", "to_unit": "mile"},
        {"result": 6.21, "unit": "mile"},
    ),
    "convert_weight_for_unitconverter": (
        {"value": 2, "from_unit": "kg", "to_unit": "lb"},
        {"result": 4.41, "unit": "lb"},
    ),
    "convert_temperature_for_unitconverter": (
        {"value": 100, "from_unit": "C", "to_unit": "F"},
        {"result": 212.0, "unit": "F"},
    ),
    "search_products_for_shopcatalogue": (
        {"query": "Mouse"},
        [{"product_id": "P106", "name": "wireless mouse"}],
    ),
    "product_details_for_shopcatalogue": ({"product_id": "P102"}, P),
    "product_price_for_shopcatalogue": ({"product_id": "p102"}, {"product_id": "P102", "price_usd": 179.5}),
    "product_stock_for_shopcatalogue": ({"product_id": "P102"}, {"product_id": "P102", "stock": 0}),
    "product_reviews_for_shopcatalogue": (
        {"product_id": "P102"},
        {"id": "P102", "rating": 4.6, "reviews": 1540},
    ),
    "shipping_quote_for_shipfast": (
        {"product_id": "P102", "country": "Norway"},
        {"product_id": "P102", "country": "Norway", "cost_usd": 16.2},
    ),
    "delivery_days_for_shipfast": ({"country": "Kenya"}, {"country": "Kenya", "days": 11}),
    "list_events_for_teamcalendar": ({"date": "2025-03-05"}, [D["events"][3], D["events"][4]]),
    "event_details_for_teamcalendar": ({"event_id": "E3"}, D["events"][2]),
    "find_event_for_teamcalendar": ({"keyword": "yoga"}, [D["events"][6]]),
    "free_slots_for_teamcalendar": (
        {"date": "2025-03-03"},
        {"date": "2025-03-03", "free": ["09:30-11:00", "12:30-18:00"]},
    ),
    "public_holidays_for_worldholidays": (
        {"country": "Peru"},
        [
            {"date": "2025-07-28", "name": "Independence Day"},
            {"date": "2025-08-30", "name": "Santa Rosa de Lima"},
        ],
    ),
    "day_of_week_for_worldholidays": ({"date": "2025-03-03"}, {"date": "2025-03-03", "weekday": "Monday"}),
    "days_between_for_worldholidays": ({"start": "2025-03-03", "end": "2025-04-25"}, {"days": 53}),
    "lookup_entity_for_minipedia": ({"name": "Nile"}, D["entities"][9]),
    "entity_fact_for_minipedia": (
        {"name": "Kenya", "field": "capital"},
        {"name": "Kenya", "field": "capital", "value": "Nairobi"},
    ),
    "search_entities_for_minipedia": ({"type": "mountain"}, ["Mount Fuji", "Mount Kenya"]),
    "define_word_for_wordbook": (
        {"word": "frugal"},
        {"word": "frugal", "definition": "careful not to spend more than needed"},
    ),
    "synonyms_for_wordbook": ({"word": "summit"}, {"word": "summit", "synonyms": ["peak", "top"]}),
    "part_of_speech_for_wordbook": ({"word": "wander"}, {"word": "wander", "part_of_speech": "verb"}),
}


def _all_apis_query() -> dict:
    return {"api_list": [api.api_list_entry() for api in APIS], "query": "anything", "query_id": 0}


def test_the_world_has_enough_apis_in_several_categories():
    assert len(APIS) >= 30
    assert len({api.category for api in APIS}) >= 5
    assert set(CASES) == {api.function_name for api in APIS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_api_against_its_data(name):
    world = OfflineToolWorld()
    world.reset(_all_apis_query())
    arguments, expected = CASES[name]
    observation = world.call(name, json.dumps(arguments))
    assert observation.code == ObservationCode.OK
    assert json.loads(observation.text) == {"error": "", "response": expected}


@pytest.mark.parametrize(
    ("name", "arguments", "fragment"),
    [
        ("current_weather_for_weathernow", {"town": "Oslo"}, "missing parameter 'city'"),
        ("current_weather_for_weathernow", {"city": "Oslo", "unit": "C"}, "unexpected parameter 'unit'"),
        ("current_weather_for_weathernow", {"city": "Atlantis"}, "unknown city 'Atlantis'"),
        ("forecast_for_weathernow", {"city": "Oslo", "days": 9}, "between 1 and 5"),
        (
            "convert_currency_for_fxrates",
            {"amount": "lots", "base": "USD", "target": "EUR"},
            "must be a number",
        ),
        ("day_of_week_for_worldholidays", {"date": "03/03/2025"}, "YYYY-MM-DD"),
        ("entity_fact_for_minipedia", {"name": "Nile", "field": "capital"}, "has no field 'capital'"),
    ],
)
def test_bad_arguments_give_code_12_naming_the_parameter(name, arguments, fragment):
    world = OfflineToolWorld()
    world.reset(_all_apis_query())
    observation = world.call(name, arguments)
    assert observation.code == ObservationCode.REQUEST_ERROR
    assert fragment in json.loads(observation.text)["error"]


def test_unknown_function_unparseable_input_and_finish_codes():
    world = OfflineToolWorld()
    world.reset(_all_apis_query())
    assert world.call("weather_for_mars", "{}").code == ObservationCode.UNKNOWN_FUNCTION
    assert world.call("current_weather_for_weathernow", "{city: Oslo").code == ObservationCode.REQUEST_ERROR
    assert world.call("Finish", '{"return_type": "give_answer", "final_answer": "x"}').code == 3
    assert world.call("Finish", '{"return_type": "give_up_and_restart"}').code == 4
    assert world.call("Finish", '{"return_type": "give_answer"}').code == 2
    assert world.call("Finish", "not json").code == 2
    assert world.api_calls == 1  # Finish and unknown names are not API calls


def _fault_codes(seed: int, rate: float, calls: int = 200) -> list[int]:
    world = OfflineToolWorld(seed=seed, fault_rate=rate)
    world.reset(_all_apis_query())
    return [world.call("current_weather_for_weathernow", {"city": "Oslo"}).code for _ in range(calls)]


def test_faults_are_seeded_reproducible_and_use_toolbench_codes():
    first, again, other = _fault_codes(1, 0.3), _fault_codes(1, 0.3), _fault_codes(2, 0.3)
    assert first == again
    assert first != other
    assert set(first) <= {0, 5, 6, 10, 11} and {5, 6, 10, 11} <= set(first)
    assert 0.2 < sum(code != 0 for code in first) / len(first) < 0.4
    assert _fault_codes(1, 0.0, calls=20) == [0] * 20
    # reset() restarts the attempt counter, so a query replays the same faults
    world = OfflineToolWorld(seed=1, fault_rate=0.3)
    world.reset(_all_apis_query())
    assert [world.call("current_weather_for_weathernow", {"city": "Oslo"}).code for _ in range(5)] == first[
        :5
    ]


def test_fault_settings_are_validated():
    with pytest.raises(HFExtError, match="fault_rate"):
        OfflineToolWorld(fault_rate=1.0)
    with pytest.raises(HFExtError, match="fault_kinds"):
        OfflineToolWorld(fault_kinds=("meteor",))


@pytest.mark.parametrize("group", GROUPS)
def test_generated_queries_are_solvable_with_their_relevant_apis(group):
    world = OfflineToolWorld()
    queries = world.generate_queries(12, group=group, seed=3)
    assert len({q["query"] for q in queries}) == 12 and len({q["query_id"] for q in queries}) == 12
    for query in queries:
        tools = {api["tool_name"] for api in query["api_list"]}
        categories = {api["category_name"] for api in query["api_list"]}
        assert {
            "G1": len(tools) == 1,
            "G2": len(tools) > 1 and len(categories) == 1,
            "G3": len(categories) > 1,
        }[group]
        functions = {f["name"] for f in world.reset(query)}
        for tool, api in query["relevant APIs"]:
            assert any(a["tool_name"] == tool and a["api_name"] == api for a in query["api_list"])
        assert "Finish" in functions
        observations = [world.call(step["name"], json.dumps(step["arguments"])) for step in query["solution"]]
        assert all(o.code == 0 for o in observations), observations
        # every gold item can be read off (or, for totals, summed from) the reference calls' observations
        assert check_answer(query["gold_answer"], " ".join(o.text for o in observations)) or group == "G2"
        assert world.check_answer(query, " ".join(map(str, query["gold_answer"])))
        assert not world.check_answer(query, "I could not find it.")


def test_train_and_test_splits_do_not_share_queries():
    train = OfflineToolWorld.generate_queries(15, "G1", seed=0, split="train")
    test = OfflineToolWorld.generate_queries(8, "G1", seed=0, split="test")
    assert not {q["query"] for q in train} & {q["query"] for q in test}
    with pytest.raises(HFExtError, match="distinct"):
        OfflineToolWorld.generate_queries(10_000, "G1")
    # strict=False returns every distinct query there is, and they are the strict run's queries
    every = OfflineToolWorld.generate_queries(10_000, "G3", seed=0, split="train", strict=False)
    assert 0 < len(every) < 10_000 and len({q["query"] for q in every}) == len(every)
    assert every[:5] == OfflineToolWorld.generate_queries(5, "G3", seed=0, split="train")


def test_check_answer_compares_numbers_to_two_decimals():
    assert check_answer([6.21, "Monday"], "10 km is 6.21 miles; it is a monday")
    assert not check_answer([6.21], "6.2 miles")
    assert check_answer([1080], "1,080.00 NOK")
    assert not check_answer(["Oslo"], None)


# -- the cached backend ---------------------------------------------------------------------------------


def _write_cache(root):
    api = {"category_name": "Weather", "tool_name": "WeatherNow", "api_name": "current_weather"}
    path = cache_file(root, "Weather", "WeatherNow", "current_weather")
    assert path == root / "Weather" / "weathernow_for_Weather" / "current_weather.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                str({"city": "Oslo"}): {"error": "", "response": {"temp_c": 4.0}},
                str({"city": "Lima"}): {"error": "Rate limit per minute error...", "response": ""},
                str({"city": "Cairo"}): {"error": "boom", "response": ""},
            }
        )
    )
    return api


def test_cached_environment_replays_stabletoolbench_cache(tmp_path):
    api = _write_cache(tmp_path)
    env = CachedToolEnvironment(tmp_path)
    env.reset({"api_list": [api], "query": "weather", "query_id": 7})
    hit = env.call("current_weather_for_weathernow", '{"city": "Oslo"}')
    assert hit.code == 0 and json.loads(hit.text)["response"] == {"temp_c": 4.0}
    assert env.call("current_weather_for_weathernow", {"city": "Lima"}).code == ObservationCode.RATE_LIMIT
    assert env.call("current_weather_for_weathernow", {"city": "Cairo"}).code == ObservationCode.MESSAGE_ERROR
    miss = env.call("current_weather_for_weathernow", {"city": "Paris"})
    assert miss.code == ObservationCode.REQUEST_ERROR and "cache miss" in miss.text and env.misses == 1
    assert env.call("forecast_for_weathernow", {}).code == ObservationCode.UNKNOWN_FUNCTION


def test_cached_environment_names_a_bad_cache_file(tmp_path):
    api = _write_cache(tmp_path)
    cache_file(tmp_path, "Weather", "WeatherNow", "current_weather").write_text("[1, 2]")
    env = CachedToolEnvironment(tmp_path)
    env.reset({"api_list": [api], "query": "weather", "query_id": 7})
    with pytest.raises(HFExtError, match="current_weather.json"):
        env.call("current_weather_for_weathernow", {"city": "Oslo"})
    with pytest.raises(HFExtError, match="not a folder"):
        CachedToolEnvironment(tmp_path / "absent")


# -- the HTTP backend -----------------------------------------------------------------------------------


class _Server(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Server.requests.append((self.path, dict(self.headers), body))
        if body["tool_input"] == '{"city": "Nowhere"}':
            self.send_response(500)
            self.end_headers()
            return
        reply = {"error": "", "response": f"weather for {json.loads(body['tool_input'])['city']}"}
        if body["tool_input"] == '{"city": "Busy"}':
            reply = {"error": "Too many requests error...", "response": ""}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_http_environment_speaks_stabletoolbench_protocol():
    server = HTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/virtual"
        env = HTTPToolEnvironment(url, toolbench_key="k123", timeout=10)
        api = {"category_name": "Weather Data", "tool_name": "Weather Now", "api_name": "Current Weather"}
        env.reset({"api_list": [api], "query": "q", "query_id": 1})
        observation = env.call("current_weather_for_weather_now", '{"city": "Oslo"}')
        assert observation.code == 0 and json.loads(observation.text)["response"] == "weather for Oslo"
        path, headers, body = _Server.requests[-1]
        headers = {k.lower(): v for k, v in headers.items()}
        assert path == "/virtual" and headers["toolbench_key"] == "k123"
        assert body == {
            "category": "Weather_Data",
            "tool_name": "weather_now",
            "api_name": "current_weather",
            "tool_input": '{"city": "Oslo"}',
            "strip": "",
            "toolbench_key": "k123",
        }
        assert env.call("current_weather_for_weather_now", '{"city": "Busy"}').code == 9
        assert env.call("current_weather_for_weather_now", '{"city": "Nowhere"}').code == 12
    finally:
        server.shutdown()
        server.server_close()
    closed = HTTPToolEnvironment(url, timeout=2)
    closed.reset({"api_list": [api], "query": "q", "query_id": 1})
    assert closed.call("current_weather_for_weather_now", '{"city": "Oslo"}').code == 12
    with pytest.raises(HFExtError, match="url"):
        HTTPToolEnvironment("ftp://x")
