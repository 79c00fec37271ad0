"""OpenAI's Responses API (`POST /v1/responses`) with the clients that speak it: the official
OpenAI SDK (`responses.create`, streamed, `responses.stream`, `responses.parse`), function-tool
loops through the mock and through Anthropic- and Gemini-kind upstreams, cut streams, errors,
passthrough to an upstream that serves the Responses API itself, the OpenAI Agents SDK
(`Runner.run` with a function tool) and the Codex CLI (`codex exec`, offline). Versions are
pinned in requirements.txt and package.json."""

import asyncio
import json
import os
import subprocess

import openai
import pytest
from pydantic import BaseModel, Field

from conftest import CANARY_KEY, DEV_KEY, ROOT

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}
PROMPT = "What is a gateway?"


def words(text):
    return text.split()


def test_create_streamed_and_whole_agree(client):
    r = client.responses.create(model="mock", input=PROMPT)
    assert (r.object, r.status, r.error, r.model) == ("response", "completed", None, "mock-1")
    assert r.id.startswith("resp_") and r.output[0].id.startswith("msg_")
    text = r.output_text
    assert 8 <= len(words(text)) <= 31
    assert r.usage.output_tokens == len(words(text)) and r.usage.input_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens

    events = list(client.responses.create(model="mock", input=PROMPT, stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == text
    done = events[-1].response
    assert done.id == events[0].response.id and done.output_text == text and done.usage.output_tokens == r.usage.output_tokens

    with client.responses.stream(model="mock", input=PROMPT) as s:
        final = s.get_final_response()
    assert final.output_text == text and final.status == "completed"


def test_the_requests_parameters_are_echoed(client):
    r = client.responses.create(model="mock", input=[{"role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
                                instructions="Be brief.", temperature=0.3, top_p=0.9, max_output_tokens=200, store=False,
                                metadata={"run": "e2e"}, user="u-1", reasoning={"effort": "low"}, parallel_tool_calls=False,
                                text={"format": {"type": "text"}, "verbosity": "low"}, truncation="disabled")
    assert (r.instructions, r.temperature, r.top_p, r.max_output_tokens, r.store) == ("Be brief.", 0.3, 0.9, 200, False)
    assert (r.metadata, r.user, r.reasoning.effort, r.parallel_tool_calls) == ({"run": "e2e"}, "u-1", "low", False)
    assert (r.text.verbosity, r.truncation, r.previous_response_id, r.tools, r.tool_choice) == ("low", "disabled", None, [], "auto")


class City(BaseModel):
    name: str
    population: int = Field(ge=0)
    districts: list[str] = Field(min_length=2)


def test_structured_output_with_parse(client):
    r = client.responses.parse(model="mock", input="Describe Oslo.", text_format=City)
    city = r.output_parsed
    assert isinstance(city, City) and city.population >= 0 and len(city.districts) >= 2


def function_call(r):
    [call] = [o for o in r.output if o.type == "function_call"]
    assert call.name == "get_weather" and call.status == "completed" and call.id.startswith("fc_")
    assert isinstance(json.loads(call.arguments)["city"], str)
    return call


@pytest.mark.parametrize("model", ["mock", "claude-ok", "gemini-ok"])
def test_a_function_tool_loop(client, upstream, model):
    ask = [{"role": "user", "content": "Weather in Oslo?"}]
    r = client.responses.create(model=model, input=ask, tools=[WEATHER])
    call = function_call(r)
    events = list(client.responses.create(model=model, input=ask, tools=[WEATHER], stream=True))
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    [done] = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done.arguments == args and done.name == "get_weather" and events[-1].type == "response.completed"
    assert function_call(events[-1].response).arguments == args

    # The caller sends the whole conversation back, the model's own output items included.
    turn = ask + [o.model_dump(exclude_none=True) for o in r.output] + [
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    answer = client.responses.create(model=model, input=turn, tools=[WEATHER])
    if model == "mock":
        assert answer.output_text == "Based on the tool results: get_weather returned sunny."
    elif model == "gemini-ok":
        # Gemini's functionResponse, named after its call, carries the output.
        assert answer.output_text.startswith("done: ") and "sunny" in answer.output_text
    else:
        # The Anthropic upstream got the call and its result as tool_use and tool_result.
        sent = [c["body"]["messages"] for c in upstream.calls if c["wire"] == "anthropic" and "tool_result" in json.dumps(c["body"])]
        blocks = [b for m in sent[-1] for b in (m["content"] if isinstance(m["content"], list) else [])]
        [use] = [b for b in blocks if b["type"] == "tool_use"]
        [result] = [b for b in blocks if b["type"] == "tool_result"]
        assert use["id"] == result["tool_use_id"] == call.call_id and "sunny" in json.dumps(result["content"])
        assert answer.status == "completed"


@pytest.mark.parametrize("model,headers", [("up-cut", {}), ("mock", {"x-switchyard-mock": "cut_after=3"})])
def test_a_cut_stream_ends_in_response_failed(client, model, headers):
    events = list(client.responses.create(model=model, input=PROMPT, stream=True, extra_headers=headers))
    assert events[-1].type == "response.failed"
    assert events[-1].response.status == "failed" and events[-1].response.error.code == "server_error"
    assert events[-1].response.error.message
    assert not any(e.type == "response.completed" for e in events)
    assert [e.sequence_number for e in events] == list(range(len(events)))


@pytest.mark.parametrize("extra,param", [
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"background": True, "stream": True}, "stream"),  # background is served (test_responses_state.py), not streamed
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
    ({"truncation": "auto"}, "truncation"),
])
def test_what_is_not_served_is_a_400_naming_it(client, extra, param):
    args = dict({"model": "mock", "input": PROMPT}, **extra)
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(**args)
    assert (e.value.status_code, e.value.code, e.value.param) == (400, "unsupported", param)


def test_errors_come_in_openais_shape(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.responses.create(model="no-such-model", input=PROMPT)
    assert e.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="mock", input=[{"role": "user", "content": [{"type": "input_text"}]}])
    assert (e.value.code, e.value.param) == ("missing_required_parameter", "input[0].content[0].text")
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="mock-rate-limited", input=PROMPT)


def responses_calls(upstream):
    return [c for c in upstream.calls if c["wire"] == "responses"]


def test_passthrough_to_an_upstream_that_serves_responses(client, upstream):
    before = len(responses_calls(upstream))
    raw = client.responses.with_raw_response.create(model="resp-ok", input="Hi there", store=False,
                                                     include=["reasoning.encrypted_content"], reasoning={"summary": "auto"})
    r = raw.parse()
    # The upstream's own answer: its id, and the reasoning item the gateway cannot translate.
    assert (r.id, r.output[0].type, r.output_text) == ("resp_up_1", "reasoning", "echo: Hi there")
    assert raw.headers["x-switchyard-provider"] == "up-resp" and raw.headers["x-switchyard-input-tokens"] == "13"
    [call] = responses_calls(upstream)[before:]
    assert call["path"] == "/v1/responses" and call["headers"]["authorization"] == f"Bearer {CANARY_KEY}"
    assert call["body"] == {"model": "ok", "input": "Hi there", "store": False, "include": ["reasoning.encrypted_content"],
                            "reasoning": {"summary": "auto"}}, "only the model is rewritten"

    events = list(client.responses.create(model="resp-ok", input="Hi there", stream=True, store=False))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed" and events[-1].response.id == "resp_up_1"
    assert events[-1].response.usage.input_tokens == 13

    cut = list(client.responses.create(model="resp-cut", input="Hi there", stream=True, store=False))
    assert [e.type for e in cut] == ["response.created", "response.in_progress", "response.output_item.added", "error"]
    assert cut[-1].code == "stream_error" and cut[-1].sequence_number == 3


def test_passthrough_keeps_a_tool_loop_whole(client):
    r = client.responses.create(model="resp-ok", input="Weather in Oslo?", tools=[WEATHER], store=False)
    call = function_call(r)
    turn = [{"role": "user", "content": "Weather in Oslo?"}] + [o.model_dump(exclude_none=True) for o in r.output] + [
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    assert client.responses.create(model="resp-ok", input=turn, tools=[WEATHER], store=False).output_text == "done: sunny"


def test_a_stored_request_is_translated_even_where_passthrough_is_served(client, upstream):
    before = len(responses_calls(upstream))
    first = client.responses.create(model="resp-ok", input="Hi there")
    assert len(responses_calls(upstream)) == before, "stored: translated to chat, not passed through"
    assert first.id != "resp_up_1" and client.responses.retrieve(first.id).id == first.id
    second = client.responses.create(model="resp-ok", input="And again", previous_response_id=first.id)
    assert second.previous_response_id == first.id and len(responses_calls(upstream)) == before


# ---- the OpenAI Agents SDK ----

def test_agents_sdk_runner_with_a_function_tool(gateway):
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)  # traces would go to OpenAI's servers

    @function_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"sunny in {city}"

    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=DEV_KEY, max_retries=0)
    agent = Agent(name="weather", instructions="Answer weather questions.", tools=[get_weather],
                  model=OpenAIResponsesModel(model="mock", openai_client=client))
    result = asyncio.run(Runner.run(agent, "Weather in Oslo?"))
    kinds = [type(i).__name__ for i in result.new_items]
    assert kinds == ["ToolCallItem", "ToolCallOutputItem", "MessageOutputItem"]
    assert result.final_output.startswith("Based on the tool results: get_weather returned sunny in ")


# ---- the Codex CLI ----

CODEX = ROOT / "node_modules/.bin/codex"
CODEX_CONFIG = """model = "mock"
model_provider = "switchyard"
web_search = "disabled"

[agents]
enabled = false

[model_providers.switchyard]
name = "Switchyard"
base_url = "{base}/v1"
env_key = "SWITCHYARD_API_KEY"
wire_api = "responses"
"""


def test_codex_exec_runs_a_tool_turn_against_the_mock(gateway, tmp_path):
    # The README's config, with a fresh home: nothing but the gateway is called. The mock calls
    # the first tool Codex offers (exec_command, with generated arguments, in a read-only
    # sandbox), then answers the tool's result with text, which ends the turn.
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(CODEX_CONFIG.format(base=gateway.url))
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CODEX_HOME": str(home), "SWITCHYARD_API_KEY": DEV_KEY}
    r = subprocess.run([str(CODEX), "exec", "--json", "--skip-git-repo-check", "--sandbox", "read-only", "Say hello"],
                       cwd=work, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    messages = [e["item"]["text"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"]
    assert messages and messages[-1].startswith("Based on the tool results: exec_command returned"), r.stdout
    [done] = [e for e in events if e["type"] == "turn.completed"]
    assert done["usage"]["input_tokens"] > 0 and done["usage"]["output_tokens"] > 0
    assert not any(e["type"] in ("turn.failed", "error") for e in events), r.stdout
