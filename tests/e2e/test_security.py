"""Hostile input, browser tokens, CORS and crash recovery, end to end on workerd."""

import base64
import json
import time

import httpx
import pytest

from conftest import APP_ORIGIN, DEV_KEY, WEB_KEY

OPENAI_HDRS = {"authorization": f"Bearer {DEV_KEY}", "content-type": "application/json"}
ANTHROPIC_HDRS = {"x-api-key": DEV_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
HI = [{"role": "user", "content": "hi"}]


def chat_cases():
    m = "up-ok"
    raw = [b"", b"{", b"[]", b"null", b"\"text\"", b"{\"model\": \"up-ok\", \"messages\": [}", b"\xff\xfe{}",
           b'{"model": "up-ok", "model": "mock", "messages": [{"role": "user", "content": "hi"}]}',
           b'{"model": "up-ok", "messages": [{"role": "user", "content": "hi", "content": "again"}]}',
           ('{"model": "up-ok", "messages": [{"role": "user", "content": "hi"}], "metadata": ' + "[" * 70 + "]" * 70 + "}").encode()]
    bodies = [
        {"messages": HI}, {"model": m}, {"model": m, "messages": []}, {"model": m, "messages": "hi"}, {"model": 7, "messages": HI},
        {"model": "", "messages": HI}, {"model": m, "messages": [{"content": "hi"}]}, {"model": m, "messages": [{"role": "wizard", "content": "hi"}]},
        {"model": m, "messages": [{"role": "user"}]}, {"model": m, "messages": [{"role": "user", "content": 5}]},
        {"model": m, "messages": [{"role": "user", "content": [{"type": "text"}]}]},
        {"model": m, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        {"model": m, "messages": [{"role": "tool", "content": "r"}]},
        {"model": m, "messages": [{"role": "assistant", "tool_calls": [{"id": "x"}]}]},
        {"model": m, "messages": HI, "temperature": "hot"}, {"model": m, "messages": HI, "temperature": 3},
        {"model": m, "messages": HI, "top_p": -1}, {"model": m, "messages": HI, "n": 0}, {"model": m, "messages": HI, "n": "two"},
        {"model": m, "messages": HI, "max_tokens": -5}, {"model": m, "messages": HI, "max_tokens": 1.5},
        {"model": m, "messages": HI, "max_tokens": 5, "max_completion_tokens": 5}, {"model": m, "messages": HI, "stream": "yes"},
        {"model": m, "messages": HI, "stream_options": 1}, {"model": m, "messages": HI, "stop": [1, 2]},
        {"model": m, "messages": HI, "stop": ["a"] * 5}, {"model": m, "messages": HI, "seed": "x"},
        {"model": m, "messages": HI, "logit_bias": {"1": 1000}}, {"model": m, "messages": HI, "presence_penalty": 5},
        {"model": m, "messages": HI, "tools": "all"}, {"model": m, "messages": HI, "tools": [{"type": "retrieval"}]},
        {"model": m, "messages": HI, "tools": [{"type": "function", "function": {}}]}, {"model": m, "messages": HI, "tool_choice": "maybe"},
        {"model": m, "messages": HI, "response_format": {"type": "yaml"}}, {"model": m, "messages": HI, "response_format": {"type": "json_schema"}},
        {"model": m, "messages": HI, "reasoning_effort": "extreme"}, {"model": m, "messages": HI, "metadata": {"a": 1}},
        {"model": m, "messages": HI, "user": 5}, {"model": m, "messages": HI * 2049}, {"model": "x" * 300, "messages": HI},
        {"model": "ghost", "messages": HI}, {"model": m, "messages": [{"role": "user", "content": "x" * 70000}]},
    ]
    return [(b, 400) for b in raw] + [(json.dumps(b).encode(), None) for b in bodies]


def anthropic_cases():
    m = "claude-ok"
    bodies = [
        {"model": m, "messages": HI}, {"model": m, "max_tokens": 0, "messages": HI}, {"model": m, "max_tokens": 10},
        {"model": m, "max_tokens": 10, "messages": []}, {"max_tokens": 10, "messages": HI},
        {"model": m, "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]},
        {"model": m, "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]},
        {"model": m, "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}]},
        {"model": m, "max_tokens": 10, "messages": HI, "system": 5}, {"model": m, "max_tokens": 10, "messages": HI, "temperature": 1.5},
        {"model": m, "max_tokens": 10, "messages": HI, "top_k": -1}, {"model": m, "max_tokens": 10, "messages": HI, "tools": [{"name": "f"}]},
        {"model": m, "max_tokens": 10, "messages": HI, "tool_choice": {"type": "sometimes"}},
        {"model": m, "max_tokens": 10, "messages": HI, "stop_sequences": "END"}, {"model": "ghost", "max_tokens": 10, "messages": HI},
    ]
    return [(json.dumps(b).encode(), None) for b in bodies] + [(b"{", 400), (b'{"model": "a", "model": "b"}', 400)]


def test_bad_input_suite_gets_4xx_in_the_callers_shape_and_no_upstream_call(gateway, upstream):
    before = len(upstream.calls)
    count = 0
    for body, status in chat_cases():
        r = httpx.post(gateway.url + "/v1/chat/completions", content=body, headers=OPENAI_HDRS)
        assert 400 <= r.status_code < 500 and (status is None or r.status_code == status), (body[:120], r.status_code, r.text)
        err = r.json()["error"]
        assert set(err) == {"message", "type", "code", "param"} and err["message"], body[:120]
        count += 1
    for body, status in anthropic_cases():
        r = httpx.post(gateway.url + "/v1/messages", content=body, headers=ANTHROPIC_HDRS)
        assert 400 <= r.status_code < 500 and (status is None or r.status_code == status), (body[:120], r.status_code, r.text)
        j = r.json()
        assert j["type"] == "error" and j["error"]["type"] and j["error"]["message"], body[:120]
        count += 1
    extra = [
        ("/v1/chat/completions", b'{"model":"up-ok","messages":[]}', {"authorization": f"Bearer {DEV_KEY}", "content-type": "text/xml"}, 415),
        ("/v1/embeddings", b'{"model":"emb-up"}', OPENAI_HDRS, 400),
        ("/v1/embeddings", b'{"model":"emb-up","input":5}', OPENAI_HDRS, 400),
        ("/v1/chat/completions", b'{"model":"up-ok","messages":[{"role":"user","content":"hi"}]}', {"authorization": "Bearer nope"}, 401),
    ]
    for path, body, headers, status in extra:
        r = httpx.post(gateway.url + path, content=body, headers=headers)
        assert r.status_code == status, (path, body, r.text)
        count += 1
    assert count >= 50
    assert len(upstream.calls) == before, "no bad request reached an upstream"


def mint(gateway, **body):
    r = httpx.post(gateway.url + "/v1/tokens", json={"origin": APP_ORIGIN, **body}, headers={"authorization": f"Bearer {WEB_KEY}"})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_browser_token_flow(gateway):
    token = mint(gateway, models=["mock"], ttl_seconds=120)
    chat = {"model": "mock", "messages": HI}
    ok = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {token}", "origin": APP_ORIGIN})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in ok.headers["access-control-expose-headers"]
    evil = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {token}", "origin": "https://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    scope = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "up-ok", "messages": HI},
                       headers={"authorization": f"Bearer {token}", "origin": APP_ORIGIN})
    assert scope.status_code == 403 and scope.json()["error"]["code"] == "model_not_allowed"
    head, claims, mac = token.split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    forged_claims["m"] = None
    forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).decode().rstrip("="), mac])
    r = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {forged}", "origin": APP_ORIGIN})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    short = mint(gateway, ttl_seconds=1)
    time.sleep(2.1)
    r = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {short}", "origin": APP_ORIGIN})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    r = httpx.post(gateway.url + "/v1/tokens", json={"origin": "https://evil.example"}, headers={"authorization": f"Bearer {WEB_KEY}"})
    assert r.status_code == 403


def test_cors_preflight_and_denial(gateway):
    r = httpx.options(gateway.url + "/v1/chat/completions",
                      headers={"origin": APP_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    r = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "mock", "messages": HI},
                   headers={"authorization": f"Bearer {DEV_KEY}", "origin": APP_ORIGIN})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, "server-side keys are refused from browsers"
    r = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "mock", "messages": HI},
                   headers={"authorization": f"Bearer {WEB_KEY}", "origin": APP_ORIGIN})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == APP_ORIGIN


def test_panic_gives_json_500_and_the_next_request_succeeds(http):
    r = http.post("/v1/chat/completions", json={"model": "mock", "messages": HI}, headers={"x-switchyard-mock": "panic"})
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "internal_error" and r.headers["x-request-id"] in err["message"]
    for _ in range(3):
        assert http.post("/v1/chat/completions", json={"model": "mock", "messages": HI}).status_code == 200


def test_a_crash_on_the_messages_api_answers_in_anthropics_error_shape(http):
    body = {"model": "mock", "max_tokens": 16, "messages": HI}
    r = http.post("/v1/messages", json=body, headers={"x-switchyard-mock": "panic", "anthropic-version": "2023-06-01"})
    assert r.status_code == 500
    got = r.json()
    assert got["type"] == "error" and got["error"]["type"] == "api_error", got
    assert r.headers["x-request-id"] in got["error"]["message"]
    assert http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}).status_code == 200


def test_runtime_keys_created_used_listed_and_revoked(gateway):
    from conftest import ADMIN_KEY
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert httpx.get(gateway.url + "/admin/keys", headers={"authorization": f"Bearer {DEV_KEY}"}).status_code == 401
    r = httpx.post(gateway.url + "/admin/keys", json={"name": "rt", "tenant": "acme", "models": ["mock"]}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    key, key_id = created["key"], created["id"]
    chat = {"model": "mock", "messages": HI}
    assert httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {key}"}).status_code == 200
    denied = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "up-ok", "messages": HI}, headers={"authorization": f"Bearer {key}"})
    assert denied.status_code == 403
    listed = httpx.get(gateway.url + "/admin/keys", headers=admin).json()["data"]
    assert any(e["id"] == key_id and e["record"]["name"] == "rt" for e in listed)
    assert all(key not in json.dumps(e) for e in listed), "the key itself is never stored or listed"
    assert httpx.delete(gateway.url + f"/admin/keys/{key_id}", headers=admin).json()["revoked"] is True
    assert not any(e["id"] == key_id for e in httpx.get(gateway.url + "/admin/keys", headers=admin).json()["data"])
    # Locally, KV is read through without an edge cache, so revocation shows at once.
    r = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 401


def test_canary_key_is_in_no_stored_state(gateway, http):
    from conftest import CANARY_KEY
    http.post("/v1/chat/completions", json={"model": "up-echo-key-401", "messages": HI})
    for path in gateway.state_dir.rglob("*"):
        if path.is_file():
            assert CANARY_KEY.encode() not in path.read_bytes(), path


def test_runtime_keys_and_tokens_carry_their_own_limits(gateway):
    from conftest import ADMIN_KEY
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    bad = httpx.post(gateway.url + "/admin/keys", json={"name": "x", "tenant": "t-lim", "limits": {"requests_per_minute": 0}}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limits"
    r = httpx.post(gateway.url + "/admin/keys", json={"name": "limited", "tenant": "t-lim", "limits": {"requests_per_minute": 2}}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["record"]["limits"] == {"requests_per_minute": 2}
    hdrs = {"authorization": f"Bearer {r.json()['key']}"}
    chat = {"model": "mock", "messages": HI}
    statuses = [httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers=hdrs).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]

    # A token's own budget holds on top of its key's: a total of one ten-millionth of a dollar
    # fits no request of the priced mock model.
    token = mint(gateway, models=["mock"], limits={"total_usd": 0.0000001})
    browser = {"authorization": f"Bearer {token}", "origin": APP_ORIGIN}
    r = httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers=browser)
    assert r.status_code == 402 and r.json()["error"]["code"] == "budget_exceeded"
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN, "the page may read why"
    token = mint(gateway, models=["mock"], limits={"requests_per_minute": 1})
    browser = {"authorization": f"Bearer {token}", "origin": APP_ORIGIN}
    statuses = [httpx.post(gateway.url + "/v1/chat/completions", json=chat, headers=browser).status_code for _ in range(2)]
    assert statuses == [200, 429]
    assert httpx.get(gateway.url + "/v1/usage", headers=browser).status_code == 403


def canary_pieces():
    """The canary provider key, and every 12-character piece of it."""
    from conftest import CANARY_KEY
    return [CANARY_KEY[i:i + 12] for i in range(len(CANARY_KEY) - 11)]


def assert_no_canary(what, text, headers=()):
    leaked = [p for p in canary_pieces() if p in text or any(p in v for v in headers)]
    assert not leaked, (what, leaked, text[:500])


def test_gemini_key_echoes_reach_neither_caller_nor_log(gateway, http, upstream):
    """A Gemini-wire upstream that refuses our key with 400 API_KEY_INVALID and quotes it: the
    caller gets 502 upstream_auth_failed (or the next target's answer), never its own 400; an
    upstream 400 of the caller's, a stream's in-band error: the key is cut out, in any form."""
    from conftest import CANARY_KEY
    anthropic_hdrs = {"anthropic-version": "2023-06-01"}
    seen = []

    r = http.post("/v1/chat/completions", json={"model": "gemini-key-invalid", "messages": HI})
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_auth_failed", r.text
    assert upstream.calls_for("key-invalid")[-1]["headers"]["x-goog-api-key"] == CANARY_KEY, "the upstream got the canary"
    seen.append(r)
    r = http.post("/v1/messages", json={"model": "gemini-key-invalid", "max_tokens": 16, "messages": HI}, headers=anthropic_hdrs)
    assert r.status_code == 502 and r.json()["type"] == "error", r.text
    seen.append(r)

    before = len(upstream.calls_for("key-invalid"))
    r = http.post("/v1/chat/completions", json={"model": "r-gem-key", "messages": HI})
    assert r.status_code == 200 and r.headers["x-switchyard-provider"] == "anth", r.text
    assert r.headers["x-switchyard-attempts"] == "2", "a refused key is not retried"
    assert len(upstream.calls_for("key-invalid")) - before == 1
    seen.append(r)

    r = http.post("/v1/chat/completions", json={"model": "gemini-echo-key-400", "messages": HI})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "upstream_rejected_request", r.text
    assert "[redacted]" in err["message"] and "contents[0]" in err["message"], err["message"]
    seen.append(r)

    for path, body in [("/v1/chat/completions", {"model": "gemini-stream-echo-key", "messages": HI, "stream": True}),
                       ("/v1/messages", {"model": "gemini-stream-echo-key", "max_tokens": 16, "messages": HI, "stream": True})]:
        r = http.post(path, json=body, headers=anthropic_hdrs)
        assert r.status_code == 200 and "partial" in r.text and "error" in r.text and "[redacted]" in r.text, r.text
        seen.append(r)

    for r in seen:
        assert_no_canary(r.request.url, r.text, r.headers.values())
    time.sleep(0.5)
    assert_no_canary("wrangler.log", gateway.log_path.read_text())
