"""Capabilities end to end on workerd: `model="cap:NAME"` through the stock OpenAI SDK, the
`POST /v1/capabilities/NAME` endpoint with its reply shape, an input that does not fit its
schema refused with no upstream call, escalation up the ladder (the cascade mock models:
`ok` echoes, `final-number` ends with `#### 42`, the built-in mock fits JSON schemas),
`max_attempts`, and a key scoped to one capability."""

import json
import secrets
import time

import httpx
import openai

from conftest import CAP_KEY, CAP_LEARN_KEY, CAP_RATES_KEY, DEV_KEY


def run(gateway, name, body, key=DEV_KEY):
    return httpx.post(f"{gateway.url}/v1/capabilities/{name}", json=body, timeout=30,
                      headers={"authorization": f"Bearer {key}"})


def calls(upstream, marker):
    return [c for c in upstream.calls if marker in json.dumps(c["body"])]


def test_the_openai_sdk_asks_for_a_capability_by_name(gateway, upstream):
    marker = "cap-" + secrets.token_hex(4)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=DEV_KEY, max_retries=0, timeout=30)
    raw = client.chat.completions.with_raw_response.create(
        model="cap:maths", messages=[{"role": "user", "content": f"{marker} 2+2?\n#### 4"}])
    answer = raw.parse()
    assert answer.choices[0].message.content == f"echo: Question: {marker} 2+2?\n#### 4"
    assert raw.headers["x-switchyard-route-reason"] == "cascade: rung 1 of 2"
    assert raw.headers["x-switchyard-attempts"] == "1"
    sent = calls(upstream, marker)
    assert len(sent) == 1 and sent[0]["body"]["model"] == "ok"
    assert sent[0]["body"]["messages"] == [{"role": "user", "content": f"Question: {marker} 2+2?\n#### 4"}]


def test_the_endpoint_escalates_and_answers_with_output_model_attempts_gates_and_cost(gateway, upstream):
    marker = "cap-" + secrets.token_hex(4)
    r = run(gateway, "extract", {"input": {"text": f"{marker} Ada wrote the first program"}})
    assert r.status_code == 200, r.text
    v = r.json()
    assert isinstance(v["output"], dict) and isinstance(v["output"]["name"], str)
    assert (v["model"], v["attempts"]) == ("mock", 3)
    assert [(g["model"], g["passed"]) for g in v["gates"]] == [("cascade-weak", False), ("cascade-weak", False), ("mock", True)]
    assert v["gates"][0]["verdicts"][0] == {"gate": "json", "reason": "it is not valid JSON"}
    assert v["cost"]["usd"] > 0 and f'{v["cost"]["usd"]:.9f}' == r.headers["x-switchyard-cost-usd"]
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 2 of 2, rung 1 failed json, rung 1 re-prompt failed json"
    weak = calls(upstream, marker)
    assert len(weak) == 2, "the built-in mock is not an upstream call"
    first = weak[0]["body"]
    assert first["messages"] == [{"role": "system", "content": "Extract the name."},
                                 {"role": "user", "content": f"Text: {marker} Ada wrote the first program"}]
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"]["required"] == ["name"]


def test_input_that_does_not_fit_is_400_with_no_upstream_call(gateway, upstream):
    marker = "cap-" + secrets.token_hex(4)
    before = len(upstream.calls)
    for body in [{"input": {"text": 5, "m": marker}}, {"input": {"m": marker}}, {"input": marker}]:
        r = run(gateway, "extract", body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] in ("input_invalid", "invalid_value")
    assert run(gateway, "extract", {"input": {"m": marker}}).json()["error"]["message"] == \
        "the input does not fit the capability: input: missing required property 'text'"
    assert len(upstream.calls) == before
    r = run(gateway, "nope", {"input": {}})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "capability_not_found")


def test_max_attempts_stops_the_ladder(gateway, upstream):
    marker = "cap-" + secrets.token_hex(4)
    r = run(gateway, "maths-capped", {"input": {"input": f"{marker} what is 6*7?"}})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "gates_failed" and "stopped: max_attempts (1) reached" in err["message"]
    assert len(calls(upstream, marker)) == 1


def test_a_key_scoped_to_a_capability_may_use_it_and_not_its_rungs(gateway):
    marker = "cap-" + secrets.token_hex(4)
    r = run(gateway, "maths", {"input": {"input": f"{marker}\n#### 7"}}, key=CAP_KEY)
    assert r.status_code == 200, r.text
    assert r.json()["output"].endswith("#### 7")
    body = {"model": "cascade-weak", "messages": [{"role": "user", "content": marker}]}
    r = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {CAP_KEY}"}, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "model_not_allowed")


TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}}}]


def chat(gateway, model, content, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {DEV_KEY}"})


def test_cheapest_capable_orders_by_price_and_leaves_out_what_cannot_serve(gateway, upstream):
    marker = "cc-" + secrets.token_hex(4)
    r = chat(gateway, "r-cheapest", f"{marker} hi")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-route-reason"] == "cheapest_capable: up-no-tools, cheapest of 4 capable"
    r = chat(gateway, "r-cheapest", f"{marker} tools", tools=TOOLS)
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-model"] == "window-8k"
    assert r.headers["x-switchyard-route-reason"] == \
        "cheapest_capable: up-window-8k, cheapest of 3 capable; left out: up-no-tools (tools)"
    long = f"{marker} " + "word " * 8000
    r = chat(gateway, "r-cheapest", long, tools=TOOLS)
    assert r.status_code == 200, r.text
    reason = r.headers["x-switchyard-route-reason"]
    assert reason.startswith("cheapest_capable: cascade-weak, cheapest of 2 capable; left out: up-no-tools (tools), "
                             "up-window-8k (context window 8192 < about "), reason
    assert [c["body"]["model"] for c in calls(upstream, marker)] == ["ok", "window-8k", "ok"]
    before = len(upstream.calls)
    r = chat(gateway, "r-cheapest-capped", long, tools=TOOLS)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "no_capable_model"
    assert err["message"].startswith("no candidate of the route 'r-cheapest-capped' can serve this request: "
                                     "cascade-strong (max_price), cascade-weak (max_price), up-no-tools (tools), ")
    assert len(upstream.calls) == before


def gate_rates(gateway, key, answers):
    """The tenant's gate records once `answers` checked answers have settled."""
    deadline = time.time() + 20
    while True:
        r = httpx.get(gateway.url + "/v1/usage", params={"group_by": "capability"},
                      headers={"authorization": f"Bearer {key}"}, timeout=30)
        assert r.status_code == 200, r.text
        rows = r.json()["data"]
        if sum(row["calls"] for row in rows) >= answers or time.time() > deadline:
            return {(row["capability"], row["model"]): row for row in rows}
        time.sleep(0.2)


def test_each_rungs_pass_rate_is_kept_and_shown_in_usage(gateway):
    marker = "cap-" + secrets.token_hex(4)
    assert run(gateway, "maths", {"input": {"input": f"{marker}\n#### 7"}}, key=CAP_RATES_KEY).status_code == 200
    r = run(gateway, "maths", {"input": {"input": f"{marker} what is 6*7?"}}, key=CAP_RATES_KEY)
    assert r.status_code == 200 and r.json()["model"] == "cascade-strong", r.text
    rows = gate_rates(gateway, CAP_RATES_KEY, 4)
    weak, strong = rows[("cap:maths", "cascade-weak")], rows[("cap:maths", "cascade-strong")]
    assert (weak["calls"], weak["passes"], strong["calls"], strong["passes"]) == (3, 1, 1, 1)
    assert abs(weak["pass_rate"] - 1 / 3) < 1e-9 and strong["pass_rate"] == 1.0
    assert float(strong["cost_usd"]) > float(weak["cost_usd"]) > 0


def test_a_rung_below_its_pass_rate_floor_is_skipped(gateway, upstream):
    marker = "cap-" + secrets.token_hex(4)
    question = {"input": {"input": f"{marker} what is 6*7?"}}
    r = run(gateway, "maths-learning", question, key=CAP_LEARN_KEY)
    assert r.status_code == 200 and r.json()["attempts"] == 3, r.text
    rows = gate_rates(gateway, CAP_LEARN_KEY, 3)
    assert rows[("cap:maths-learning", "cascade-weak")]["passes"] == 0
    again = "cap-" + secrets.token_hex(4)
    r = run(gateway, "maths-learning", {"input": {"input": f"{again} what is 6*7?"}}, key=CAP_LEARN_KEY)
    assert r.status_code == 200, r.text
    assert (r.json()["model"], r.json()["attempts"]) == ("cascade-strong", 1)
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 1 of 1, cascade-weak skipped: pass rate 0.00 < 0.50"
    assert [c["body"]["model"] for c in calls(upstream, again)] == ["final-number"]
