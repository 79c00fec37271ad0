"""The official OpenAI Python SDK against the gateway: what real users' code does."""

import json

import openai
import pytest

WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"mock", "gpt-4o-mini", "up-ok"} <= ids


def test_mock_completion_is_deterministic_with_usage(client):
    messages = [{"role": "user", "content": "What is a gateway?"}]
    a = client.chat.completions.create(model="mock", messages=messages)
    b = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert a.choices[0].message.content and a.choices[0].message.content == b.choices[0].message.content
    assert a.usage.prompt_tokens > 0 and a.usage.completion_tokens > 0
    assert a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens


def test_mock_stream_with_usage(client):
    stream = client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "hi"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "hi"}])
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


@pytest.mark.parametrize("model", ["mock", "up-ok"])
def test_tool_calls(client, model):
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                       tools=[WEATHER_TOOL], tool_choice="auto")
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    follow = client.chat.completions.create(model=model, messages=[
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ])
    assert follow.choices[0].message is not None


def test_upstream_stream_with_usage(client):
    stream = client.chat.completions.create(model="up-ok", messages=[{"role": "user", "content": "stream me"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: stream me"
    assert chunks[-1].usage.prompt_tokens == 11


def test_errors_surface_as_sdk_exceptions(client, gateway):
    bad_key = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad_key.chat.completions.create(model="mock", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "hi"}], temperature=7)
    assert e.value.param == "temperature"
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="mock-rate-limited", messages=[{"role": "user", "content": "hi"}])
    assert e.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="up-status-429", messages=[{"role": "user", "content": "hi"}])
    narrow = openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-narrow-test", max_retries=0)
    assert narrow.chat.completions.create(model="mock", messages=[{"role": "user", "content": "hi"}]).choices
    with pytest.raises(openai.PermissionDeniedError):
        narrow.chat.completions.create(model="up-ok", messages=[{"role": "user", "content": "hi"}])
