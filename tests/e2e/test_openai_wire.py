"""OpenAI wire fidelity with the official SDKs: OpenAI streams pass through for every OpenAI
caller (only the usage it did not ask for is cut out), content sent as parts and empty finish
reasons are read right, and the legacy /v1/completions endpoint rides the chat path."""

import json
import uuid

import openai
import pytest


def prompt(tag):
    # Unique per run, so no cached answer stands in for the upstream.
    return f"{tag} {uuid.uuid4().hex[:8]}"


def test_a_stream_without_include_usage_keeps_the_upstreams_fields(client, http):
    chunks = list(client.chat.completions.create(model="up-rich", messages=[{"role": "user", "content": prompt("rich")}], stream=True))
    assert chunks and all(c.choices for c in chunks), "no usage-only chunk"
    assert all(c.system_fingerprint == "fp_rich" and c.service_tier == "default" for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert chunks[0].choices[0].logprobs.content[0].token == "rich "
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "rich text"
    assert [c.choices[0].delta.refusal for c in chunks if c.choices[0].delta.refusal] == ["no more"]
    assert chunks[-1].choices[0].finish_reason == "stop"

    raw = http.post("/v1/chat/completions", json={"model": "up-rich", "stream": True,
                                                  "messages": [{"role": "user", "content": prompt("raw")}]}).text
    frames = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    assert frames and all(f["choices"] and f.get("usage") is None for f in frames), "no usage the caller did not ask for"
    assert all(f["usage"] is None for f in frames if "usage" in f) and "data: [DONE]" in raw

    chunks = list(client.chat.completions.create(model="up-rich", messages=[{"role": "user", "content": prompt("rich")}],
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 14
    assert chunks[0].system_fingerprint == "fp_rich"


def test_content_as_parts_gives_the_text_and_not_the_thinking(client, claude, http):
    r = claude.messages.create(model="up-parts", max_tokens=64, messages=[{"role": "user", "content": prompt("parts")}])
    assert "".join(b.text for b in r.content if b.type == "text") == "parts answer"
    with claude.messages.stream(model="up-parts", max_tokens=64, messages=[{"role": "user", "content": prompt("parts")}]) as s:
        assert s.get_final_text() == "parts answer"
    r = client.completions.create(model="up-parts", prompt=prompt("parts"))
    assert r.choices[0].text == "parts answer"
    # An OpenAI caller gets the upstream's own body, parts and all.
    body = http.post("/v1/chat/completions", json={"model": "up-parts", "messages": [{"role": "user", "content": prompt("p")}]}).json()
    assert body["choices"][0]["message"]["content"][0]["type"] == "thinking"


def test_an_empty_finish_reason_does_not_split_tool_calls(client, claude):
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    with claude.messages.stream(model="up-empty-finish", max_tokens=64, tools=tools,
                                messages=[{"role": "user", "content": prompt("weather")}]) as s:
        final = s.get_final_message()
    calls = [b for b in final.content if b.type == "tool_use"]
    assert [(c.name, c.input) for c in calls] == [("get_weather", {"city": "Oslo"})]
    assert final.stop_reason == "tool_use"

    chunks = list(client.completions.create(model="up-empty-finish", prompt=prompt("ef"), stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


@pytest.mark.parametrize("model", ["mock", "up-ok"])
def test_legacy_completions(client, upstream, model):
    p = prompt("Say hi")
    r = client.completions.create(model=model, prompt=p)
    assert r.object == "text_completion" and r.id.startswith("cmpl-")
    assert r.choices[0].text.strip() and r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 0 and 0 < r.usage.completion_tokens <= 16
    if model == "up-ok":
        assert r.choices[0].text == f"echo: {p}"
        sent = [c["body"] for c in upstream.calls_for("ok") if json.dumps(c["body"].get("messages")).find(p) >= 0]
        assert len(sent) == 1 and sent[0]["max_tokens"] == 16, "the reference's default cap"
        assert sent[0]["messages"] == [{"role": "user", "content": p}]

    p = prompt("stream")
    chunks = list(client.completions.create(model=model, prompt=[p], max_tokens=40, stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "text_completion" for c in chunks)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text.strip()
    if model == "up-ok":
        assert text == f"echo: {p}"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0

    plain = list(client.completions.create(model=model, prompt=prompt("plain"), stream=True))
    assert plain and all(c.choices and c.usage is None for c in plain)


@pytest.mark.parametrize("kwargs,param", [
    ({"prompt": ["one", "two"]}, "prompt"),
    ({"prompt": [1, 2, 3]}, "prompt"),
    ({"prompt": "x", "echo": True}, "echo"),
    ({"prompt": "x", "suffix": "!"}, "suffix"),
    ({"prompt": "x", "n": 2}, "n"),
])
def test_legacy_completions_refuse_what_they_cannot_serve(client, kwargs, param):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="mock", **kwargs)
    assert e.value.body["param"] == param
