"""Raw HTTP against the gateway: wire details the SDK hides, upstream behaviour, failures."""

import json
import time

import httpx

from conftest import CANARY_KEY

CHAT = "/v1/chat/completions"
HI = [{"role": "user", "content": "hi"}]


def test_healthz_and_request_ids(gateway):
    r = httpx.get(gateway.url + "/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.headers["x-request-id"].startswith("req_")


def test_success_headers_name_provider_and_model(http):
    r = http.post(CHAT, json={"model": "up-ok", "messages": HI})
    assert r.status_code == 200
    assert r.headers["x-switchyard-provider"] == "up"
    assert r.headers["x-switchyard-model"] == "ok"
    assert r.headers["x-request-id"]
    assert r.json()["system_fingerprint"] == "fp_up", "upstream fields the gateway does not model pass through"


def test_request_reaches_upstream_exactly_once_with_every_field(http, upstream):
    before = len(upstream.calls_for("ok"))
    body = {
        "model": "up-ok", "messages": [
            {"role": "system", "content": "be brief"}, {"role": "developer", "content": "really"},
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]}],
        "temperature": 0.3, "top_p": 0.8, "max_completion_tokens": 50, "stop": ["END"], "seed": 7, "n": 1,
        "presence_penalty": 0.5, "frequency_penalty": 0.25, "logit_bias": {"42": 5}, "user": "u-9",
        "metadata": {"run": "e2e"}, "parallel_tool_calls": False, "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True}},
        "service_tier": "flex", "vendor_knob": {"nested": [1, 2]},
    }
    r = http.post(CHAT, json=body)
    assert r.status_code == 200, r.text
    calls = upstream.calls_for("ok")
    assert len(calls) == before + 1
    sent = calls[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {CANARY_KEY}"
    expected = dict(body, model="ok")
    assert sent["body"] == expected


def test_client_errors(http, gateway):
    cases = [
        (http.post(CHAT, content=b"{not json", headers={"content-type": "application/json"}), 400, "invalid_json"),
        (http.post(CHAT, json={"model": "mock", "messages": HI, "temperature": "warm"}), 400, "invalid_type"),
        (http.post(CHAT, json={"model": "ghost", "messages": HI}), 404, "model_not_found"),
        (http.get(CHAT), 405, "method_not_allowed"),
        (http.get("/v1/nothing-here"), 404, "unknown_route"),
        (http.post(CHAT, content=b"model=mock", headers={"content-type": "application/x-www-form-urlencoded"}), 415, "unsupported_content_type"),
        (http.post(CHAT, json={"model": "mock", "messages": [{"role": "user", "content": "x" * 70000}]}), 413, "body_too_large"),
        (http.post(CHAT, json={"model": "up-no-tools", "messages": HI, "tools": [{"type": "function", "function": {"name": "f"}}]}), 400, "unsupported_capability"),
        (httpx.post(gateway.url + CHAT, json={"model": "mock", "messages": HI}), 401, "invalid_api_key"),
    ]
    for r, status, code in cases:
        assert r.status_code == status, (status, r.text)
        err = r.json()["error"]
        assert err["code"] == code and err["message"] and "type" in err and "param" in err
        assert r.headers["x-request-id"]


def test_upstream_failures_map_to_gateway_statuses(http):
    cases = [("up-status-500", 502, "upstream_error"), ("up-status-503", 502, "upstream_error"),
             ("up-malformed", 502, "upstream_malformed"), ("up-timeout", 504, "upstream_timeout"),
             ("up-status-400", 400, "upstream_rejected_request"), ("up-echo-key-401", 502, "upstream_auth_failed")]
    for model, status, code in cases:
        r = http.post(CHAT, json={"model": model, "messages": HI})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (model, r.text)


def test_upstream_429_keeps_retry_after(http):
    r = http.post(CHAT, json={"model": "up-status-429", "messages": HI})
    assert r.status_code == 429 and r.headers["retry-after"] == "2"


def sse_data(text):
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def test_stream_is_piped_chunk_by_chunk(http, upstream):
    with http.stream("POST", CHAT, json={"model": "up-slow-stream", "messages": HI, "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        first_content_at = None
        for line in r.iter_lines():
            if '"content": "one' in line or '"content":"one' in line:
                first_content_at = time.time()
        body_done = time.time()
    finished = upstream.calls_for("slow-stream")[-1]["finished"]
    assert first_content_at is not None
    assert first_content_at < finished, "the first chunk reached the client before the upstream finished"
    assert body_done >= finished


def test_cut_stream_ends_with_in_band_error_not_a_clean_finish(http):
    r = http.post(CHAT, json={"model": "up-cut", "messages": HI, "stream": True})
    data = sse_data(r.text)
    assert "[DONE]" not in data
    assert json.loads(data[-1])["error"]["code"] == "stream_error"


def test_mock_faults_by_header(http):
    r = http.post(CHAT, json={"model": "mock", "messages": HI}, headers={"x-switchyard-mock": "status=503"})
    assert r.status_code == 502
    r = http.post(CHAT, json={"model": "mock", "messages": HI, "stream": True}, headers={"x-switchyard-mock": "cut_after=2"})
    assert json.loads(sse_data(r.text)[-1])["error"]["code"] == "stream_error"
    r = http.post(CHAT, json={"model": "mock", "messages": HI}, headers={"x-switchyard-mock": "malformed"})
    assert r.status_code == 502
    t = time.time()
    r = http.post(CHAT, json={"model": "mock", "messages": HI}, headers={"x-switchyard-mock": "delay_ms=300"})
    assert r.status_code == 200 and time.time() - t >= 0.3


def test_provider_key_never_leaks(http, gateway):
    responses = [
        http.post(CHAT, json={"model": m, "messages": HI, "stream": s})
        for m in ["up-echo-key-401", "up-status-400", "up-status-500", "up-malformed", "up-cut", "up-ok"]
        for s in (False, True)
    ]
    for r in responses:
        assert CANARY_KEY not in r.text
        assert all(CANARY_KEY not in v for v in r.headers.values())
    time.sleep(0.5)
    assert CANARY_KEY not in gateway.log_path.read_text()


def test_cost_and_tokens_in_headers_and_stream_comment(http):
    r = http.post(CHAT, json={"model": "mock", "messages": HI})
    usage = r.json()["usage"]
    expected = usage["prompt_tokens"] * 0.15e-6 + usage["completion_tokens"] * 0.60e-6
    assert abs(float(r.headers["x-switchyard-cost-usd"]) - expected) < 1e-9
    assert int(r.headers["x-switchyard-output-tokens"]) == usage["completion_tokens"]
    assert "x-switchyard-cost-usd" in r.headers.get("access-control-expose-headers", "x-switchyard-cost-usd")
    s = http.post(CHAT, json={"model": "up-ok", "messages": HI, "stream": True})
    comment = [line for line in s.text.splitlines() if line.startswith(": switchyard cost_usd=")]
    assert comment and "input_tokens=11" in comment[0], s.text[-300:]
