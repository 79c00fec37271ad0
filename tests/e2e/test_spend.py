"""Spend control end to end on workerd: cost headers, rate limits, budgets under concurrency,
and the exact ledger behind /v1/usage, checked against the mock upstream's own call log."""

import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import BUDGET_USD, PRICED, SPEND_KEYS
from upstream import embedding_tokens, reported_usage

NANO_PER_TOKEN = {k: int(v * 1000) for k, v in PRICED.items()}  # $/M tokens -> nano-USD a token


def headers(name, **extra):
    return {"authorization": f"Bearer {SPEND_KEYS[name][0]}", **extra}


def chat(gateway, name, content="hi", model="up-priced", **body):
    payload = {"model": model, "messages": [{"role": "user", "content": content}], **body}
    return httpx.post(gateway.url + "/v1/chat/completions", json=payload, headers=headers(name), timeout=30)


def usage(gateway, name, **params):
    r = httpx.get(gateway.url + "/v1/usage", params=params, headers=headers(name), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def settled_usage(gateway, name, calls, **params):
    """Usage once `calls` requests have settled (settlement runs after each response)."""
    deadline = time.time() + 20
    while True:
        u = usage(gateway, name, **params)
        if u["total"]["calls"] >= calls or time.time() > deadline:
            return u
        time.sleep(0.2)


def test_cost_header_is_prices_times_reported_usage(gateway, upstream):
    r = chat(gateway, "usage", content="what does it cost")
    assert r.status_code == 200, r.text
    prompt, completion = 11, 5
    nano = prompt * NANO_PER_TOKEN["input"] + completion * NANO_PER_TOKEN["output"]
    assert r.headers["x-switchyard-cost-usd"] == f"0.{nano:09d}"
    assert (r.headers["x-switchyard-input-tokens"], r.headers["x-switchyard-output-tokens"]) == ("11", "5")


def test_usage_equals_the_upstreams_own_log_per_run(gateway, upstream):
    run = "run-" + secrets.token_hex(4)
    marker = "ledger " + run
    for i in range(3):
        r = httpx.post(gateway.url + "/v1/chat/completions", headers=headers("usage", **{"x-switchyard-run": run}), timeout=30,
                       json={"model": "up-priced", "messages": [{"role": "user", "content": f"{marker} {i}"}]})
        assert r.status_code == 200
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", headers=headers("usage", **{"x-switchyard-run": run}), timeout=30,
                      json={"model": "up-priced", "stream": True, "messages": [{"role": "user", "content": f"{marker} streamed one two"}]}) as r:
        assert r.status_code == 200
        r.read()
    calls = [c for c in upstream.calls if marker in str(c["body"].get("messages"))]
    assert len(calls) == 4
    tokens_in = sum(reported_usage(c)[0] for c in calls)
    tokens_out = sum(reported_usage(c)[1] for c in calls)
    cost = tokens_in * NANO_PER_TOKEN["input"] + tokens_out * NANO_PER_TOKEN["output"]

    u = settled_usage(gateway, "usage", 4, run=run, group_by="model")
    assert u["run"] == run and u["tenant"] == "t-usage"
    assert u["total"]["calls"] == 4 and u["total"]["errors"] == 0
    assert (u["total"]["input_tokens"], u["total"]["output_tokens"]) == (tokens_in, tokens_out)
    assert u["total"]["cost_nano_usd"] == cost
    assert [row["model"] for row in u["data"]] == ["up-priced"]

    by_run = usage(gateway, "usage", group_by="run")
    assert any(row["run"] == run and row["calls"] == 4 for row in by_run["data"])
    by_key = usage(gateway, "usage", group_by="key")
    assert {row["key"] for row in by_key["data"]} == {"usage"}


def test_embeddings_are_billed_for_the_reported_tokens_and_in_the_ledger(gateway):
    run = "emb-" + secrets.token_hex(4)
    inputs = ["one two three", "four five"]
    r = httpx.post(gateway.url + "/v1/embeddings", json={"model": "emb-priced", "input": inputs},
                   headers=headers("usage", **{"x-switchyard-run": run}), timeout=30)
    assert r.status_code == 200, r.text
    tokens = embedding_tokens(inputs)
    assert r.json()["usage"]["prompt_tokens"] == tokens
    nano = tokens * NANO_PER_TOKEN["input"]
    assert (r.headers["x-switchyard-input-tokens"], r.headers["x-switchyard-cost-usd"]) == (str(tokens), f"0.{nano:09d}")
    u = settled_usage(gateway, "usage", 1, run=run)
    assert (u["total"]["calls"], u["total"]["input_tokens"], u["total"]["cost_nano_usd"]) == (1, tokens, nano)


def test_concurrent_requests_each_settle_once(gateway):
    """Settlements reach the tenant's object in batches: each request still counts once."""
    run = "many-" + secrets.token_hex(4)
    with ThreadPoolExecutor(30) as pool:
        replies = list(pool.map(lambda i: httpx.post(
            gateway.url + "/v1/chat/completions", headers=headers("usage", **{"x-switchyard-run": run}), timeout=30,
            json={"model": "up-priced", "messages": [{"role": "user", "content": f"{run} {i}"}]}), range(30)))
    assert [r.status_code for r in replies] == [200] * 30
    charged = sum(int(r.headers["x-switchyard-cost-usd"].replace(".", "")) for r in replies)
    settled_usage(gateway, "usage", 30, run=run)
    time.sleep(0.5)  # and nothing counted twice arrives later
    u = usage(gateway, "usage", run=run)
    assert (u["total"]["calls"], u["total"]["cost_nano_usd"]) == (30, charged)


def test_usage_is_per_tenant_and_validated(gateway):
    other = usage(gateway, "rpm", run="never-used")
    assert other["tenant"] == "t-rpm" and other["total"]["calls"] == 0
    for params in ({"group_by": "tenant"}, {"from": "2025-02-30"}, {"bogus": "1"}, {"from": "2030-01-02", "to": "2030-01-01"}):
        r = httpx.get(gateway.url + "/v1/usage", params=params, headers=headers("usage"))
        assert r.status_code == 400, params
        assert r.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(gateway.url + "/v1/usage").status_code == 401


def test_rpm_limit_is_exact_across_concurrent_requests(gateway, upstream):
    marker = "rpm " + secrets.token_hex(4)
    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda i: chat(gateway, "rpm", content=f"{marker} {i}"), range(12)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] * 5 + [429] * 7, statuses
    assert len([c for c in upstream.calls if marker in str(c["body"].get("messages"))]) == 5
    for r in replies:
        assert r.headers["x-ratelimit-limit-requests"] == "5"
        assert int(r.headers["x-ratelimit-remaining-requests"]) in range(0, 5)
        assert r.headers["x-ratelimit-reset-requests"].endswith("s")
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["code"] == "rate_limit_exceeded"
    # Refused requests are not in the ledger.
    assert settled_usage(gateway, "rpm", 5)["total"]["calls"] == 5


def test_budget_holds_under_40_concurrent_requests(gateway, upstream):
    content = "b" * 40  # 17 tokens estimated (the upstream reports 11), plus max_tokens 5
    with ThreadPoolExecutor(40) as pool:
        replies = list(pool.map(lambda i: chat(gateway, "budget", content=content, max_tokens=5), range(40)))
    ok = [r for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code == 402]
    assert len(ok) + len(refused) == 40, sorted((r.status_code, r.text[:300]) for r in replies if r.status_code not in (200, 402))
    # Ten reservations fit; as calls settle below their reservation, a few more may.
    assert 10 <= len(ok) <= 13 and refused
    for r in refused:
        err = r.json()["error"]
        assert (err["code"], err["type"]) == ("budget_exceeded", "insufficient_quota")
    u = settled_usage(gateway, "budget", len(ok))
    assert u["total"]["calls"] == len(ok)
    assert u["total"]["cost_nano_usd"] <= round(BUDGET_USD * 1e9)
    assert len([c for c in upstream.calls if c["body"].get("messages") == [{"role": "user", "content": content}]]) == len(ok)


def test_a_request_larger_than_the_token_burst_is_refused_for_good(gateway):
    r = chat(gateway, "tpm", max_tokens=80)
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "request_exceeds_limit"
    ok = chat(gateway, "tpm", max_tokens=5)
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-limit-tokens"] == "60"
    assert int(ok.headers["x-ratelimit-remaining-tokens"]) < 60


def test_concurrent_requests_are_capped_and_released(gateway):
    with ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(lambda i: chat(gateway, "conc", model="up-priced-slow", content=f"c{i}"), range(5)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1, statuses
    time.sleep(1)  # the slots come back once the first calls settle
    assert chat(gateway, "conc", model="up-priced-slow").status_code == 200


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_refusals_speak_the_callers_dialect(gateway, dialect):
    key = SPEND_KEYS["tpm"][0]
    if dialect == "openai":
        r = chat(gateway, "tpm", max_tokens=90)
        assert r.json()["error"]["type"] == "invalid_request_error"
    else:
        r = httpx.post(gateway.url + "/v1/messages", headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                       json={"model": "up-priced", "max_tokens": 90, "messages": [{"role": "user", "content": "hi"}]})
        assert r.json() == {"type": "error", "error": {"type": "request_too_large", "message": r.json()["error"]["message"]}}
    assert r.status_code == 413


def test_cache_hits_cost_nothing_and_their_saving_is_in_the_ledger(gateway):
    run = "hits-" + secrets.token_hex(4)
    body = {"model": "up-priced", "temperature": 0, "messages": [{"role": "user", "content": f"cache me {run}"}]}
    hdrs = headers("usage", **{"x-switchyard-run": run})
    first = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=hdrs, timeout=30)
    assert first.headers["x-switchyard-cache"] == "MISS"
    cost = first.headers["x-switchyard-cost-usd"]
    deadline = time.time() + 10
    while True:
        hit = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=hdrs, timeout=30)
        if hit.headers["x-switchyard-cache"] == "HIT" or time.time() > deadline:
            break
        time.sleep(0.3)
    assert hit.headers["x-switchyard-cache"] == "HIT"
    assert hit.headers["x-switchyard-saved-usd"] == cost
    u = settled_usage(gateway, "usage", 2, run=run)
    total = u["total"]
    misses = total["calls"] - total["cache_hits"]
    assert total["cache_hits"] >= 1
    assert total["cost_usd"] == f"{float(cost) * misses:.9f}"
    assert total["saved_usd"] == f"{float(cost) * total['cache_hits']:.9f}"


@pytest.mark.parametrize("include_usage", [False, True])
def test_streams_the_client_leaves_release_their_slots_and_settle(gateway, include_usage):
    """A streamed request the client abandons after its first chunk still ends: its
    concurrency slot comes back and it is counted in the ledger."""
    run = "leave-" + secrets.token_hex(4)
    body = {"model": "up-slow-stream", "stream": True, "messages": [{"role": "user", "content": run}]}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    before = usage(gateway, "conc")["total"]["calls"]
    for _ in range(2):  # the key's whole concurrency
        with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, headers=headers("conc"), timeout=30) as r:
            assert r.status_code == 200
            next(r.iter_raw())
    deadline = time.time() + 10
    while chat(gateway, "conc").status_code == 429:
        assert time.time() < deadline, "abandoned streams still hold the key's slots"
        time.sleep(0.2)
    assert settled_usage(gateway, "conc", before + 3)["total"]["calls"] >= before + 3
