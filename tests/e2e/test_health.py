"""GET /v1/health and the breakers of GET /v1/stats read the targets' TargetHealth Durable
Objects: a breaker opened through requests is shown from the shared object, also by a
restarted gateway whose new isolate has no view of its own."""

import time

import httpx

from conftest import DEV_KEY, Gateway

HI = [{"role": "user", "content": "hi"}]
TARGET = "up/status-504"


def entry(http, path="/v1/health", key="data"):
    r = http.get(path)
    assert r.status_code == 200, r.text
    return {e["target"]: e for e in r.json()[key]}[TARGET], r.json()


def wait_shared_open(http, timeout=10):
    deadline = time.time() + timeout
    while True:
        e, body = entry(http)
        if e["shared_state"] == "open":
            return e, body
        assert time.time() < deadline, e
        time.sleep(0.2)


def test_health_shows_the_shared_breaker_even_to_a_new_isolate(upstream, tmp_path):
    g = Gateway(tmp_path, upstream.port)
    try:
        g.wait_ready()
        with httpx.Client(base_url=g.url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30) as http:
            e, body = entry(http)
            assert body["scope"] == "shared" and e["state"] == "closed" and e["shared_state"] is None
            # Three failures in a row (the test config's `consecutive_failures`) open it.
            for _ in range(3):
                r = http.post("/v1/chat/completions", json={"model": "r-breaker", "messages": HI})
                assert r.status_code == 200 and r.headers["x-switchyard-provider"] == "mock"
            e, _ = wait_shared_open(http)
            assert e["state"] == "open" and e["state_from"] == "shared" and e["last_error"] == "upstream_timeout"
    finally:
        g.stop()
    g = Gateway(tmp_path, upstream.port)
    try:
        g.wait_ready()
        with httpx.Client(base_url=g.url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30) as http:
            e, body = entry(http)
            # The new isolate saw no call: the state can only have come from the object.
            assert body["scope"] == "shared"
            assert (e["state"], e["state_from"], e["shared_state"]) == ("open", "shared", "open"), e
            assert e["recent_calls"] == 0 and e["last_error"] is None and e["half_open_in_ms"] == 0, e
            s, _ = entry(http, "/v1/stats", "breakers")
            assert (s["state"], s["state_from"]) == ("open", "shared"), s
            assert entry(http)[0]["state"] == "open", "reading does not move the stored breaker"
    finally:
        g.stop()
