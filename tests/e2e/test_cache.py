"""The response cache end to end on workerd: hits with one upstream call, replay as a stream
through the OpenAI SDK, tenant isolation, in-flight deduplication, leader failure, stale."""

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai

from conftest import APP_ORIGIN, DEV_KEY, PRICED, WEB_KEY
from upstream import embedding_tokens

NARROW_KEY = "sk-narrow-test"


def post(gateway, body, key=DEV_KEY, **headers):
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {key}", **headers})


def marked(upstream, marker):
    return [c for c in upstream.calls if marker in json.dumps(c["body"].get("messages"))]


def stored(gateway, body, key=DEV_KEY):
    """Ask until the first answer is in KV (it is written after the response)."""
    deadline = time.time() + 10
    while True:
        r = post(gateway, body, key)
        if r.headers.get("x-switchyard-cache") == "HIT" or time.time() > deadline:
            return r
        time.sleep(0.3)


def test_second_identical_request_is_a_hit_with_one_upstream_call(gateway, upstream):
    marker = "cache-" + secrets.token_hex(4)
    body = {"model": "up-ok", "temperature": 0, "messages": [{"role": "user", "content": marker}]}
    first = post(gateway, body)
    assert first.status_code == 200 and first.headers["x-switchyard-cache"] == "MISS"
    time.sleep(0.5)
    second = post(gateway, body)
    assert second.headers["x-switchyard-cache"] == "HIT", second.headers
    assert int(second.headers["age"]) >= 0
    assert second.headers["x-switchyard-cost-usd"] == "0.000000000"
    assert second.json()["choices"] == first.json()["choices"]
    assert len(marked(upstream, marker)) == 1
    # Key order and whitespace do not matter; `user` does not either.
    reordered = '{"messages": [{"content": "%s", "role": "user"}],  "user": "someone", "temperature": 0.0, "model": "up-ok"}' % marker
    third = httpx.post(gateway.url + "/v1/chat/completions", content=reordered,
                       headers={"authorization": f"Bearer {DEV_KEY}", "content-type": "application/json"})
    assert third.headers["x-switchyard-cache"] == "HIT"
    # A changed parameter is another answer.
    assert post(gateway, {**body, "max_tokens": 7}).headers["x-switchyard-cache"] == "MISS"
    assert len(marked(upstream, marker)) == 2


def test_a_hit_replays_as_a_stream_the_sdk_parses(gateway, upstream, client):
    marker = "replay-" + secrets.token_hex(4)
    messages = [{"role": "user", "content": marker}]
    first = client.chat.completions.create(model="up-ok", temperature=0, messages=messages)
    time.sleep(0.5)
    raw = client.chat.completions.with_raw_response.create(
        model="up-ok", temperature=0, messages=messages, stream=True, stream_options={"include_usage": True})
    assert raw.headers["x-switchyard-cache"] == "HIT"
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == first.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage.prompt_tokens == first.usage.prompt_tokens
    assert len(marked(upstream, marker)) == 1


def test_a_streamed_answer_is_cached_once_complete(gateway, upstream):
    marker = "streamed-" + secrets.token_hex(4)
    body = {"model": "up-ok", "temperature": 0, "stream": True, "messages": [{"role": "user", "content": marker}]}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {DEV_KEY}"}) as r:
        assert r.headers["x-switchyard-cache"] == "MISS"
        r.read()
    hit = stored(gateway, {**body, "stream": False})
    assert hit.headers["x-switchyard-cache"] == "HIT"
    assert hit.json()["choices"][0]["message"]["content"] == f"echo: {marker}"
    assert len(marked(upstream, marker)) == 1


def test_another_tenant_never_shares_an_entry(gateway):
    body = {"model": "mock", "temperature": 0, "messages": [{"role": "user", "content": "tenant-" + secrets.token_hex(4)}]}
    assert post(gateway, body).headers["x-switchyard-cache"] == "MISS"
    assert stored(gateway, body).headers["x-switchyard-cache"] == "HIT"
    assert post(gateway, body, key=NARROW_KEY).headers["x-switchyard-cache"] == "MISS"


def test_bypass_and_opt_out(gateway):
    body = {"model": "mock", "temperature": 0.8, "messages": [{"role": "user", "content": "sampled"}]}
    assert post(gateway, body).headers["x-switchyard-cache"] == "BYPASS"
    deterministic = {**body, "temperature": 0}
    assert post(gateway, deterministic, **{"x-switchyard-cache": "off"}).headers["x-switchyard-cache"] == "BYPASS"
    assert post(gateway, deterministic, **{"cache-control": "no-cache"}).headers["x-switchyard-cache"] == "BYPASS"


def test_50_identical_concurrent_requests_make_one_upstream_call(gateway, upstream):
    marker = "herd-" + secrets.token_hex(4)
    body = {"model": "up-slow", "temperature": 0, "messages": [{"role": "user", "content": marker}]}
    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(lambda _: post(gateway, body), range(50)))
    assert [r.status_code for r in replies] == [200] * 50
    assert len({json.dumps(r.json()["choices"], sort_keys=True) for r in replies}) == 1
    assert len(marked(upstream, marker)) == 1
    assert sorted(r.headers["x-switchyard-cache"] for r in replies).count("MISS") == 1


def test_followers_of_a_failing_leader_get_an_error_promptly(gateway):
    body = {"model": "up-slow-fail", "temperature": 0, "messages": [{"role": "user", "content": "fail-" + secrets.token_hex(4)}]}
    started = time.time()
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: post(gateway, body), range(10)))
    assert all(r.status_code >= 500 for r in replies)
    assert all(r.json()["error"]["code"] for r in replies)
    assert time.time() - started < 15


def test_stale_answer_when_every_target_fails(gateway):
    body = {"model": "r-stale", "temperature": 0, "messages": [{"role": "user", "content": "stale-" + secrets.token_hex(4)}]}
    fresh = post(gateway, body)
    assert fresh.status_code == 200
    assert stored(gateway, body).headers["x-switchyard-cache"] == "HIT"
    time.sleep(2.1)
    # Older than the caller accepts, and the only target is down: the stale answer, marked.
    r = post(gateway, body, **{"cache-control": "max-age=1", "x-switchyard-mock": "status=503"})
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-cache"] == "STALE"
    assert r.json()["choices"] == fresh.json()["choices"]
    # With a healthy target the same request is answered fresh.
    assert post(gateway, body, **{"cache-control": "max-age=1"}).headers["x-switchyard-cache"] == "MISS"
    # Without a stale entry the failure shows.
    other = {**body, "messages": [{"role": "user", "content": "never-cached"}]}
    failed = post(gateway, other, **{"x-switchyard-mock": "status=503"})
    assert failed.status_code >= 500 and "x-switchyard-cache" in failed.headers


def test_browsers_may_send_and_read_the_cache_headers(gateway):
    pre = httpx.options(gateway.url + "/v1/chat/completions", headers={
        "origin": APP_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "x-switchyard-cache, cache-control"})
    assert "x-switchyard-cache" in pre.headers["access-control-allow-headers"]
    body = {"model": "mock", "temperature": 0, "messages": [{"role": "user", "content": "from a page"}]}
    r = post(gateway, body, key=WEB_KEY, origin=APP_ORIGIN)
    assert r.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-switchyard-cache" in r.headers["access-control-expose-headers"]


def test_similar_prompt_hit_and_multi_turn_near_miss(gateway, upstream):
    tag = secrets.token_hex(3)
    question = f"What is the capital of France {tag}?"
    first = post(gateway, {"model": "r-similar", "messages": [{"role": "user", "content": question}]})
    assert first.status_code == 200 and first.headers["x-switchyard-cache"] == "MISS"
    time.sleep(1)  # the entry and its index row are written after the response
    near_text = f"what is the CAPITAL of france, {tag}"
    near = post(gateway, {"model": "r-similar", "messages": [{"role": "user", "content": near_text}]})
    assert near.headers["x-switchyard-cache"] == "SIMILAR", near.headers
    assert float(near.headers["x-switchyard-similarity"]) >= 0.9
    # The hit costs only the lookup's embedding: the tokens the upstream reported at emb-bow's price.
    lookup_nano = embedding_tokens([near_text]) * int(PRICED["input"] * 1000)
    assert near.headers["x-switchyard-cost-usd"] == f"0.{lookup_nano:09d}"
    assert near.json()["choices"][0]["message"]["content"] == first.json()["choices"][0]["message"]["content"]
    # The same last question after other turns is another conversation: never a hit.
    turns = [{"role": "user", "content": "Talk like a pirate."}, {"role": "assistant", "content": "Arr."},
             {"role": "user", "content": question}]
    assert post(gateway, {"model": "r-similar", "messages": turns}).headers["x-switchyard-cache"] == "MISS"
    # A different question is a miss.
    other = post(gateway, {"model": "r-similar", "messages": [{"role": "user", "content": f"How tall is Everest {tag}?"}]})
    assert other.headers["x-switchyard-cache"] == "MISS"
    chats = [c for c in upstream.calls if tag in json.dumps(c["body"].get("messages")) and c["path"].endswith("/chat/completions")]
    assert len(chats) == 3, "the similar prompt made no upstream chat call"


def test_a_client_leaving_mid_stream_does_not_hold_up_identical_requests(gateway):
    body = {"model": "up-slow-stream", "temperature": 0, "stream": True,
            "messages": [{"role": "user", "content": "leave-" + secrets.token_hex(4)}]}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {DEV_KEY}"}) as r:
        assert r.headers["x-switchyard-cache"] == "MISS"
        next(r.iter_raw())  # the first chunk, then the client hangs up
    time.sleep(0.5)
    started = time.time()
    again = post(gateway, body)
    assert again.status_code == 200
    assert time.time() - started < 10, "the abandoned stream released its key"
