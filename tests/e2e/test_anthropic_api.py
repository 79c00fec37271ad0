"""The Anthropic API as current SDKs and Claude Code use it, through the official Anthropic
Python SDK: system messages inside `messages`, `output_config`, token counting, Anthropic's
own overload error, beta headers reaching the upstream; and the OpenAI SDK's model lookup."""

import json
import re
import uuid

import anthropic
import httpx
import openai
import pytest

from upstream import COUNTED_TOKENS, RICH_CITATION, RICH_SIGNATURE, RICH_THINKING


def tagged(prefix):
    """A prompt no other test sends, to find this test's upstream calls."""
    return f"{prefix} {uuid.uuid4().hex[:12]}"


def calls_with(upstream, tag, path="/v1/messages"):
    return [c for c in upstream.calls if c["path"].split("?")[0] == path and tag in json.dumps(c["body"].get("messages"))]


@pytest.mark.parametrize("model", ["mock", "claude-ok", "up-ok", "gemini-ok"])
def test_system_role_messages_are_accepted(claude, model):
    m = claude.messages.create(model=model, max_tokens=50, system="be brief", messages=[
        {"role": "system", "content": "answer in English"},
        {"role": "user", "content": "hello there"},
        {"role": "system", "content": [{"type": "text", "text": "no jokes"}]},
    ])
    assert m.type == "message" and m.content[0].text.strip()


def test_system_role_messages_fold_into_the_upstreams_system_prompt(claude, upstream):
    tag = tagged("fold")
    claude.messages.create(model="claude-ok", max_tokens=50, system="be brief", messages=[
        {"role": "user", "content": tag},
        {"role": "assistant", "content": "ok"},
        {"role": "system", "content": "no jokes"},
        {"role": "user", "content": "go on"},
    ])
    [call] = calls_with(upstream, tag)
    assert call["body"]["system"] == "be brief\n\nno jokes"
    assert [m["role"] for m in call["body"]["messages"]] == ["user", "assistant", "user"]

    tag = tagged("fold-openai")
    claude.messages.create(model="up-ok", max_tokens=50, messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": tag}])
    [call] = [c for c in upstream.calls if c["path"] == "/v1/chat/completions" and tag in json.dumps(c["body"]["messages"])]
    assert call["body"]["messages"][0] == {"role": "system", "content": "be brief"}


def test_output_config_reaches_an_anthropic_upstream_unchanged(claude, upstream):
    tag = tagged("output-config")
    output_config = {"effort": "high", "format": {"type": "json_schema", "schema": {
        "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}}}
    claude.messages.create(model="claude-ok", max_tokens=50, output_config=output_config, messages=[{"role": "user", "content": tag}])
    [call] = calls_with(upstream, tag)
    assert call["body"]["output_config"] == output_config
    assert "system" not in call["body"], "no JSON instruction beside the native format"

    tag = tagged("output-config-openai")
    claude.messages.create(model="up-ok", max_tokens=50, output_config=output_config, messages=[{"role": "user", "content": tag}])
    [call] = [c for c in upstream.calls if c["path"] == "/v1/chat/completions" and tag in json.dumps(c["body"]["messages"])]
    assert call["body"]["response_format"]["json_schema"]["schema"] == output_config["format"]["schema"]
    assert call["body"]["reasoning_effort"] == "high"


def test_count_tokens_asks_an_anthropic_target(claude, upstream):
    tag = tagged("count")
    raw = claude.messages.with_raw_response.count_tokens(
        model="claude-ok", system="be brief", messages=[{"role": "user", "content": tag}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}])
    assert raw.parse().input_tokens == COUNTED_TOKENS
    assert raw.headers.get("x-switchyard-usage-estimated") is None
    [call] = calls_with(upstream, tag, "/v1/messages/count_tokens")
    assert call["body"]["model"] == "ok" and call["body"]["system"] == "be brief"
    assert "max_tokens" not in call["body"] and "stream" not in call["body"]


@pytest.mark.parametrize("model", ["mock", "up-ok", "gemini-ok"])
def test_count_tokens_estimates_for_other_targets(claude, upstream, model):
    before = len(upstream.calls)
    short = claude.messages.with_raw_response.count_tokens(model=model, messages=[{"role": "user", "content": "hi"}])
    long = claude.messages.count_tokens(model=model, messages=[{"role": "user", "content": "many words here " * 50}])
    assert short.headers["x-switchyard-usage-estimated"] == "true"
    assert 0 < short.parse().input_tokens < long.input_tokens
    assert len(upstream.calls) == before, "an estimate makes no upstream call"


def test_count_tokens_errors_are_anthropic_errors(claude):
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.count_tokens(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.count_tokens(model="claude-ok", messages=[])


def test_an_overloaded_upstream_is_anthropics_overloaded_error(claude, client, upstream):
    before = len(upstream.calls_for("status-529"))
    with pytest.raises(anthropic.OverloadedError) as e:
        claude.messages.create(model="r-529", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 529
    assert e.value.body["error"]["type"] == "overloaded_error"
    assert len(upstream.calls_for("status-529")) - before == 1, "a route without retries calls once"
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="r-529", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 502 and e.value.code == "upstream_overloaded"


def test_unknown_paths_under_messages_are_anthropic_errors(claude, gateway):
    with pytest.raises(anthropic.NotFoundError) as e:
        claude.messages.batches.list()
    assert e.value.body["error"]["type"] == "not_found_error"
    r = httpx.post(gateway.url + "/v1/messages/nope", json={}, headers={"x-api-key": "sk-switchyard-dev"})
    assert r.status_code == 404 and r.json()["type"] == "error" and r.json()["error"]["type"] == "not_found_error"


def test_anthropic_beta_reaches_the_upstream(claude, upstream):
    from conftest import CANARY_KEY
    tag = tagged("beta")
    claude.beta.messages.create(model="claude-ok", max_tokens=20, betas=["files-api-2025-04-14", "context-1m-2025-08-07"],
                                messages=[{"role": "user", "content": tag}])
    [call] = calls_with(upstream, tag)
    assert call["headers"]["anthropic-beta"] == "files-api-2025-04-14,context-1m-2025-08-07"
    assert call["headers"]["anthropic-version"] == "2023-06-01" and call["headers"]["x-api-key"] == CANARY_KEY
    assert "authorization" not in call["headers"]

    tag = tagged("beta-count")
    claude.beta.messages.count_tokens(model="claude-ok", betas=["files-api-2025-04-14"], messages=[{"role": "user", "content": tag}])
    [call] = calls_with(upstream, tag, "/v1/messages/count_tokens")
    # The SDK adds its own token-counting beta to the list; all of it reaches the upstream.
    assert "files-api-2025-04-14" in call["headers"]["anthropic-beta"].split(",")

    tag = tagged("beta-openai")
    claude.beta.messages.create(model="up-ok", max_tokens=20, betas=["files-api-2025-04-14"], messages=[{"role": "user", "content": tag}])
    [call] = [c for c in upstream.calls if c["path"] == "/v1/chat/completions" and tag in json.dumps(c["body"]["messages"])]
    assert "anthropic-beta" not in call["headers"], "an OpenAI upstream gets no Anthropic header"


def test_a_model_by_id(client, gateway):
    m = client.models.retrieve("gpt-4o-mini")
    assert (m.id, m.object, m.owned_by) == ("gpt-4o-mini", "model", "mock")
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("no-such-model")
    assert e.value.code == "model_not_found"
    narrow = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-narrow-test", max_retries=0)
    assert narrow.models.retrieve("mock").id == "mock"
    with pytest.raises(openai.NotFoundError):
        narrow.models.retrieve("up-ok")


def rich_request(tag):
    """A request with block-level fields the canonical form cannot hold."""
    cache = {"type": "ephemeral"}
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    return dict(
        max_tokens=2048,
        system=[{"type": "text", "text": "be brief"}, {"type": "text", "text": "a long manual", "cache_control": cache}],
        tools=[{"name": "look", "description": "look at the lawn", "input_schema": {"type": "object"}, "cache_control": cache}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        stop_sequences=["###"],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": tag, "cache_control": cache}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should look.", "signature": "sig-earlier"},
                {"type": "tool_use", "id": "toolu_1", "name": "look", "input": {"at": "lawn"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": [
                    {"type": "text", "text": "camera offline"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}]},
                {"type": "text", "text": "what colour is the grass?"}]},
        ],
    )


def assert_rich(m):
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert (m.content[0].thinking, m.content[0].signature) == (RICH_THINKING, RICH_SIGNATURE)
    assert m.content[1].text == "Green."
    assert [c.model_dump(exclude_none=True) for c in m.content[1].citations] == [RICH_CITATION]
    assert (m.stop_reason, m.stop_sequence) == ("stop_sequence", "###")
    assert (m.usage.input_tokens, m.usage.cache_read_input_tokens, m.usage.cache_creation_input_tokens) == (12, 2048, 0)
    assert m.usage.output_tokens == 9


def test_anthropic_blocks_pass_through_both_ways(claude, upstream):
    tag = tagged("rich")
    sent = rich_request(tag)
    with claude.messages.stream(model="claude-rich", **sent) as s:
        final = s.get_final_message()
    assert_rich(final)
    [call] = calls_with(upstream, tag)
    for field in ["system", "tools", "thinking", "stop_sequences", "messages", "max_tokens"]:
        assert call["body"][field] == sent[field], field
    assert call["body"]["model"] == "rich" and call["body"]["stream"] is True
    assert call["body"]["messages"][2]["content"][0]["is_error"] is True

    tag = tagged("rich-whole")
    assert_rich(claude.messages.create(model="claude-rich", **rich_request(tag)))
    [call] = calls_with(upstream, tag)
    assert call["body"]["messages"] == rich_request(tag)["messages"] and "stream" not in call["body"]


def test_tool_ids_outside_anthropics_pattern_survive_a_round_trip_and_a_provider_switch(claude, upstream):
    """An OpenAI-compatible upstream issues `functions.get_weather:0`: the Anthropic caller gets
    an id valid for Anthropic, sending it back reaches that upstream as issued, and the same
    history sent to an Anthropic upstream passes its id check."""
    tools = [{"name": "get_weather", "description": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    ask = [{"role": "user", "content": "weather in Oslo?"}]
    first = claude.messages.create(model="up-kimi-ids", max_tokens=64, messages=ask, tools=tools)
    call = next(b for b in first.content if b.type == "tool_use")
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", call.id), call.id
    history = ask + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ]
    second = claude.messages.create(model="up-kimi-ids", max_tokens=64, messages=history, tools=tools)
    assert second.content[0].type == "text"
    sent = upstream.calls_for("kimi-ids")[-1]["body"]["messages"]
    assert sent[-1]["tool_call_id"] == "functions.get_weather:0" and sent[-2]["tool_calls"][0]["id"] == "functions.get_weather:0"
    switched = claude.messages.create(model="claude-ok", max_tokens=64, messages=history)
    assert switched.content[0].type == "text"
