"""Every caller dialect (OpenAI SDK, Anthropic SDK) against every upstream wire format
(built-in mock, OpenAI-compatible, Anthropic, Gemini): the same cases for each pairing."""

import base64
import json
import struct

import anthropic
import httpx
import pytest

MODELS = ["mock", "up-ok", "claude-ok", "gemini-ok"]
ECHOING = {"up-ok", "claude-ok", "gemini-ok"}
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def check_text(model, text, prompt):
    assert text.strip()
    if model in ECHOING:
        assert text.strip() == f"echo: {prompt}"


@pytest.mark.parametrize("model", MODELS)
def test_openai_caller(client, model):
    r = client.chat.completions.create(model=model, messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}])
    check_text(model, r.choices[0].message.content, "hello there")
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0

    chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "stream this"}],
                                                 stream=True, stream_options={"include_usage": True}))
    check_text(model, "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), "stream this")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    tools = [{"type": "function", "function": WEATHER}]
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "weather in Oslo?"}], tools=tools)
    call = r.choices[0].message.tool_calls[0]
    assert (r.choices[0].finish_reason, call.function.name) == ("tool_calls", "get_weather")
    assert "city" in json.loads(call.function.arguments)

    chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True))
    args = "".join(tc.function.arguments or "" for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or []))
    assert "city" in json.loads(args)
    assert any(c.choices and c.choices[0].finish_reason == "tool_calls" for c in chunks)


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_caller(claude, model):
    m = claude.messages.create(model=model, max_tokens=100, system="be brief", messages=[{"role": "user", "content": "hello there"}])
    assert m.type == "message" and m.role == "assistant"
    check_text(model, m.content[0].text, "hello there")
    assert m.stop_reason in ("end_turn", "max_tokens")
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0

    with claude.messages.stream(model=model, max_tokens=100, messages=[{"role": "user", "content": "stream this"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check_text(model, text, "stream this")
    assert final.stop_reason in ("end_turn", "max_tokens") and final.usage.output_tokens > 0

    tools = [{"name": WEATHER["name"], "description": WEATHER["description"], "input_schema": WEATHER["parameters"]}]
    m = claude.messages.create(model=model, max_tokens=100, tools=tools, messages=[{"role": "user", "content": "weather in Oslo?"}])
    use = next(b for b in m.content if b.type == "tool_use")
    assert (m.stop_reason, use.name) == ("tool_use", "get_weather") and "city" in use.input
    follow = claude.messages.create(model=model, max_tokens=100, tools=tools, messages=[
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": [b.model_dump() for b in m.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
    ])
    assert follow.type == "message"

    with claude.messages.stream(model=model, max_tokens=100, tools=tools, messages=[{"role": "user", "content": "weather?"}]) as stream:
        final = stream.get_final_message()
    use = next(b for b in final.content if b.type == "tool_use")
    assert final.stop_reason == "tool_use" and "city" in use.input


def test_anthropic_errors_are_sdk_exceptions(claude, gateway):
    bad = anthropic.Anthropic(base_url=gateway.url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="mock", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model="mock", max_tokens=10, extra_body={"temperature": 1.7}, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="claude-status-429", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="mock-rate-limited", max_tokens=10, messages=[{"role": "user", "content": "hi"}])


def test_bad_anthropic_input_is_400_in_anthropic_shape_with_no_upstream_call(gateway, upstream):
    before = len(upstream.calls)
    headers = {"x-api-key": "sk-switchyard-dev", "anthropic-version": "2023-06-01"}
    bodies = [
        {"model": "claude-ok", "messages": [{"role": "user", "content": "hi"}]},
        {"model": "claude-ok", "max_tokens": 5, "messages": []},
        {"model": "claude-ok", "max_tokens": 5, "messages": [{"role": "wizard", "content": "hi"}]},
        {"model": "claude-ok", "max_tokens": "many", "messages": [{"role": "user", "content": "hi"}]},
        {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
    ]
    for body in bodies:
        r = httpx.post(gateway.url + "/v1/messages", json=body, headers=headers)
        assert r.status_code == 400, r.text
        err = r.json()
        assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error" and err["error"]["message"]
    assert len(upstream.calls) == before


@pytest.mark.parametrize("model", ["claude-cut", "gemini-cut", "up-cut"])
def test_cut_upstream_streams_end_in_error_for_both_dialects(http, model):
    r = http.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "a b c"}], "stream": True})
    assert "[DONE]" not in r.text and '"error"' in r.text
    r = http.post("/v1/messages", json={"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "a b c"}], "stream": True})
    assert "event: error" in r.text and "message_stop" not in r.text


@pytest.mark.parametrize("model,status", [("claude-status-500", 502), ("gemini-status-500", 502), ("gemini-status-429", 429)])
def test_upstream_errors_map_for_every_wire(http, model, status):
    r = http.post("/v1/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == status and r.json()["error"]["code"].startswith("upstream_")


def test_upstream_requests_carry_each_wires_auth(http, upstream):
    from conftest import CANARY_KEY
    http.post("/v1/chat/completions", json={"model": "claude-ok", "messages": [{"role": "user", "content": "hi"}]})
    http.post("/v1/chat/completions", json={"model": "gemini-ok", "messages": [{"role": "user", "content": "hi"}]})
    anth = [c for c in upstream.calls if c["wire"] == "anthropic"][-1]
    gem = [c for c in upstream.calls if c["wire"] == "gemini"][-1]
    assert anth["headers"]["x-api-key"] == CANARY_KEY and anth["body"]["max_tokens"] == 512
    assert gem["headers"]["x-goog-api-key"] == CANARY_KEY and CANARY_KEY not in gem["path"]


@pytest.mark.parametrize("model", ["mock", "emb-up", "emb-gemini"])
def test_embeddings(client, model):
    r = client.embeddings.create(model=model, input=["hello", "world"], dimensions=8)
    assert [d.index for d in r.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in r.data)
    b = client.embeddings.create(model=model, input="hello", dimensions=8, encoding_format="base64")
    vector = b.data[0].embedding
    if isinstance(vector, str):  # base64 of little-endian f32, as OpenAI sends it
        raw = base64.b64decode(vector)
        vector = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    assert vector == pytest.approx(r.data[0].embedding)


def test_embeddings_unsupported_provider_is_400(http):
    r = http.post("/v1/embeddings", json={"model": "claude-ok", "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_for_provider"
