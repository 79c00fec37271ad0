"""Retries, fallbacks and the streaming commit point, end to end: each scenario checks both
what the client got and what the mock upstream saw."""

import json
import time
import uuid

HI = [{"role": "user", "content": "hi"}]


def prompt():
    return [{"role": "user", "content": "q-" + uuid.uuid4().hex}]


def test_429_with_retry_after_then_success(http, upstream):
    messages = prompt()
    t = time.time()
    r = http.post("/v1/chat/completions", json={"model": "r-429", "messages": messages})
    assert r.status_code == 200 and r.headers["x-switchyard-attempts"] == "2"
    calls = [c for c in upstream.calls_for("flaky-429") if c["body"]["messages"] == messages]
    assert len(calls) == 2 and calls[1]["received"] - calls[0]["received"] >= 1.0
    assert time.time() - t >= 1.0


def test_503_three_times_then_fallback_to_another_provider(http, upstream):
    before_503, before_claude = len(upstream.calls_for("status-503")), len([c for c in upstream.calls if c["wire"] == "anthropic"])
    r = http.post("/v1/chat/completions", json={"model": "r-fallback", "messages": HI})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "echo: hi"
    assert (r.headers["x-switchyard-attempts"], r.headers["x-switchyard-provider"]) == ("4", "anth")
    assert len(upstream.calls_for("status-503")) - before_503 == 3
    assert len([c for c in upstream.calls if c["wire"] == "anthropic"]) - before_claude == 1


def test_provider_401_goes_to_the_next_target_without_retry(http, upstream):
    before = len(upstream.calls_for("echo-key-401"))
    r = http.post("/v1/chat/completions", json={"model": "r-401", "messages": HI})
    assert r.status_code == 200 and r.headers["x-switchyard-attempts"] == "2"
    assert len(upstream.calls_for("echo-key-401")) - before == 1


def test_client_400_is_one_attempt(http, upstream):
    before = len(upstream.calls_for("status-400"))
    r = http.post("/v1/chat/completions", json={"model": "r-400", "messages": HI})
    assert r.status_code == 400 and r.headers["x-switchyard-attempts"] == "1"
    assert len(upstream.calls_for("status-400")) - before == 1


def test_timeout_falls_back(http):
    r = http.post("/v1/chat/completions", json={"model": "r-timeout", "messages": HI})
    assert r.status_code == 200 and r.headers["x-switchyard-provider"] == "mock"


def test_all_targets_down_is_a_clear_503(http):
    r = http.post("/v1/chat/completions", json={"model": "r-down", "messages": HI})
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "all_targets_failed" and "up/status-500" in err["message"] and "anth/status-500" in err["message"]
    from conftest import CANARY_KEY
    assert CANARY_KEY not in r.text


def test_stream_cut_after_first_byte_is_in_band_with_no_fallback(http, upstream):
    before = len([c for c in upstream.calls if c["wire"] == "anthropic"])
    r = http.post("/v1/chat/completions", json={"model": "r-cut", "messages": HI, "stream": True})
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert json.loads(data[-1])["error"] and "[DONE]" not in data
    assert len([c for c in upstream.calls if c["wire"] == "anthropic"]) == before


def test_health_reports_each_target(http, gateway):
    http.post("/v1/chat/completions", json={"model": "r-down", "messages": HI})
    r = http.get("/v1/health")
    assert r.status_code == 200
    targets = {t["target"]: t for t in r.json()["data"]}
    down = targets["up/status-500"]
    assert down["last_error"] == "upstream_error" and down["state"] in ("closed", "open")
    assert targets["up/ok"]["state"] == "closed"
    import httpx
    assert httpx.get(gateway.url + "/v1/health").status_code == 401


def test_time_to_first_byte_bound(http):
    t = time.time()
    r = http.post("/v1/chat/completions", json={"model": "up-ttfb-sleep", "messages": HI})
    assert r.status_code == 504 and time.time() - t < 2.5


def test_stream_idle_timeout_ends_in_band(http):
    r = http.post("/v1/chat/completions", json={"model": "up-idle-slow", "messages": HI, "stream": True})
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in data and json.loads(data[-1])["error"]


def test_breaker_state_is_kept_in_the_targets_durable_object(http, gateway):
    http.post("/v1/chat/completions", json={"model": "r-down", "messages": HI})
    needle = b'"target":"up/status-500"'
    deadline = time.time() + 10
    while time.time() < deadline:
        if any(needle in p.read_bytes() for p in gateway.state_dir.rglob("*") if p.is_file()):
            return
        time.sleep(0.2)
    raise AssertionError("no Durable Object stored the breaker of up/status-500")


def test_scheduled_probes_reach_each_target_and_feed_its_breaker(gateway, upstream):
    import httpx
    before_ok, before_bad = len(upstream.calls_for("ok")), len(upstream.calls_for("status-502"))
    assert httpx.get(gateway.url + "/__scheduled", params={"cron": "* * * * *"}).status_code == 200
    deadline = time.time() + 10
    # The probes run concurrently: wait for both to arrive.
    while time.time() < deadline and (len(upstream.calls_for("status-502")) == before_bad or len(upstream.calls_for("ok")) == before_ok):
        time.sleep(0.2)
    probe = upstream.calls_for("status-502")[-1]["body"]
    assert probe["max_tokens"] == 1 and probe["messages"] == [{"role": "user", "content": "ping"}]
    assert len(upstream.calls_for("ok")) > before_ok
    needle = b'"target":"up/status-502"'
    while time.time() < deadline:
        if any(needle in p.read_bytes() for p in gateway.state_dir.rglob("*") if p.is_file()):
            return
        time.sleep(0.2)
    raise AssertionError("the failed probe did not reach the target's Durable Object")


def test_breaker_opens_skips_the_target_then_admits_one_probe(http, upstream):
    calls = lambda: len(upstream.calls_for("status-504"))
    start = calls()
    for _ in range(3):
        r = http.post("/v1/chat/completions", json={"model": "r-breaker", "messages": HI})
        assert r.status_code == 200 and r.headers["x-switchyard-provider"] == "mock"
    assert calls() - start == 3
    for _ in range(2):
        r = http.post("/v1/chat/completions", json={"model": "r-breaker", "messages": HI})
        assert r.status_code == 200 and r.headers["x-switchyard-attempts"] == "1"
    assert calls() - start == 3, "no calls while the circuit is open"
    time.sleep(1.7)
    for _ in range(3):
        http.post("/v1/chat/completions", json={"model": "r-breaker", "messages": HI})
    assert calls() - start == 4, "half-open admits exactly its one probe, whose failure re-opens it"
