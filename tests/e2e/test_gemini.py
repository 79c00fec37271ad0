"""Gemini and Azure fidelity with the official OpenAI SDK: JSON Schemas converted to Gemini's
subset, thought signatures carried through a tool loop, embeddings over Gemini's batch limit,
and Azure OpenAI embeddings on the deployment path."""

import json

import openai
import pytest

from conftest import CANARY_KEY
from upstream import gemini_signature

# Outside Gemini's Schema object: a type union with null, a $ref into $defs, const, and
# additionalProperties; the mock upstream refuses any of them, as Gemini does.
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": {
    "type": "object",
    "properties": {"city": {"type": ["string", "null"]}, "unit": {"$ref": "#/$defs/Unit"}, "kind": {"const": "current"}},
    "required": ["city"],
    "additionalProperties": False,
    "$defs": {"Unit": {"type": "string", "enum": ["C", "F"]}},
}}}


def first_call(client, stream):
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    if not stream:
        r = client.chat.completions.create(model="gemini-ok", messages=messages, tools=[TOOL])
        assert r.choices[0].finish_reason == "tool_calls"
        c = r.choices[0].message.tool_calls[0]
        return c.id, c.function.name, c.function.arguments
    chunks = list(client.chat.completions.create(model="gemini-ok", messages=messages, tools=[TOOL], stream=True))
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    call_id = next(d.id for d in deltas if d.id)
    name = next(d.function.name for d in deltas if d.function and d.function.name)
    return call_id, name, "".join(d.function.arguments or "" for d in deltas if d.function)


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_carries_the_thought_signature(client, upstream, stream):
    call_id, name, args = first_call(client, stream)
    assert name == "get_weather" and json.loads(args) == {"city": "Oslo"}
    # The signature rides in the id, within Anthropic's id alphabet.
    assert "__ts_" in call_id and all(ch.isalnum() or ch in "_-" for ch in call_id)
    sent = upstream.calls_for("ok")[-1]["body"]
    params = sent["tools"][0]["functionDeclarations"][0]["parameters"]
    assert params["properties"]["city"] == {"type": "string", "nullable": True}
    assert params["properties"]["unit"] == {"type": "string", "enum": ["C", "F"]}
    assert params["properties"]["kind"] == {"type": "string", "enum": ["current"]}
    follow = client.chat.completions.create(model="gemini-ok", tools=[TOOL], messages=[
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}]},
        {"role": "tool", "tool_call_id": call_id, "content": '{"sky": "sunny"}'},
    ])
    assert follow.choices[0].message.content == 'done: {"sky": "sunny"}'
    replayed = upstream.calls_for("ok")[-1]["body"]["contents"][1]["parts"][0]
    assert replayed["thoughtSignature"] == gemini_signature("get_weather")


def test_a_tool_call_without_its_signature_is_refused_upstream(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gemini-ok", messages=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "call_0_0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_0_0", "content": "sunny"},
        ])
    assert e.value.code == "upstream_rejected_request" and "thought_signature" in str(e.value)


def test_a_recursive_schema_is_a_clear_400(client, upstream):
    before = len(upstream.calls_for("ok"))
    tool = {"type": "function", "function": {"name": "tree", "parameters": {
        "type": "object", "properties": {"child": {"$ref": "#"}}}}}
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gemini-ok", messages=[{"role": "user", "content": "hi"}], tools=[tool])
    assert e.value.code == "unsupported_for_provider"
    assert len(upstream.calls_for("ok")) == before, "refused before any upstream call"


def test_150_gemini_embeddings_take_two_batches(client, upstream):
    before = len(upstream.calls_for("gemini-embedding-001"))
    r = client.embeddings.create(model="emb-gemini", input=[f"text {i}" for i in range(150)], dimensions=4)
    assert [d.index for d in r.data] == list(range(150))
    assert all(len(d.embedding) == 4 for d in r.data)
    calls = upstream.calls_for("gemini-embedding-001")[before:]
    assert [len(c["body"]["requests"]) for c in calls] == [100, 50]
    assert calls[1]["body"]["requests"][0]["content"]["parts"][0]["text"] == "text 100"


def test_azure_embeddings_use_the_deployment_path_and_api_key(client, upstream):
    r = client.embeddings.create(model="emb-azure", input=["a b", "c"], dimensions=3)
    assert [d.index for d in r.data] == [0, 1] and len(r.data[0].embedding) == 3
    assert r.usage.prompt_tokens == 3
    [call] = upstream.calls_for("emb-deploy")[-1:]
    assert call["path"] == "/openai/deployments/emb-deploy/embeddings?api-version=2024-10-21"
    assert call["headers"]["api-key"] == CANARY_KEY and "authorization" not in call["headers"]
