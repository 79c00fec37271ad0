"""The built-in mock as real client libraries use it: structured outputs parsed into Pydantic
models, tool loops that end with a text answer (OpenAI and Anthropic SDKs), and a plain model
that rides out an upstream's 429 with the default retries."""

import json
import time
import uuid
from datetime import datetime
from enum import Enum
from typing import Literal, Optional

import openai
import pytest
from pydantic import BaseModel, Field


class Unit(str, Enum):
    grams = "g"
    millilitres = "ml"


class Ingredient(BaseModel):
    name: str = Field(min_length=3)
    amount: int = Field(ge=1, le=500)
    unit: Unit


class Recipe(BaseModel):
    title: str = Field(min_length=10)
    level: Literal["easy", "hard"]
    ingredients: list[Ingredient] = Field(min_length=2)
    note: Optional[str]
    rating: float = Field(ge=0, le=5)
    when: datetime


class GetWeather(BaseModel):
    city: str
    days: int = Field(ge=1, le=7)
    unit: Literal["c", "f"]


def run_tool(name, arguments):
    """The application's side of the loop: what each tool returns."""
    assert name == "get_weather"
    return f"sunny in {json.loads(arguments)['city']}, 21 degrees"


def test_structured_output_parses_into_a_pydantic_model(client):
    messages = [{"role": "user", "content": "A pancake recipe, please. " + uuid.uuid4().hex}]
    r = client.chat.completions.parse(model="mock", messages=messages, response_format=Recipe)
    recipe = r.choices[0].message.parsed
    assert isinstance(recipe, Recipe) and r.choices[0].finish_reason == "stop"
    assert len(recipe.ingredients) >= 2 and all(1 <= i.amount <= 500 for i in recipe.ingredients)
    again = client.chat.completions.parse(model="mock", messages=messages, response_format=Recipe)
    assert again.choices[0].message.parsed == recipe, "the same prompt gets the same answer"
    # The same schema through a stream, as the SDK's stream helper reads it.
    with client.chat.completions.stream(model="mock", messages=messages, response_format=Recipe) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == recipe


def test_tool_arguments_parse_into_the_tools_model(client):
    r = client.chat.completions.parse(model="mock", messages=[{"role": "user", "content": "Weather in Oslo?"}],
                                      tools=[openai.pydantic_function_tool(GetWeather)])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert isinstance(call.function.parsed_arguments, GetWeather)
    assert 1 <= call.function.parsed_arguments.days <= 7


@pytest.mark.parametrize("stream", [False, True])
def test_an_openai_tool_loop_ends_with_a_text_answer(client, stream):
    tools = [openai.pydantic_function_tool(GetWeather, name="get_weather")]
    messages = [{"role": "user", "content": "What is the weather in Oslo? " + uuid.uuid4().hex}]
    for turn in range(5):
        if stream:
            with client.chat.completions.stream(model="mock", messages=messages, tools=tools) as s:
                r = s.get_final_completion()
        else:
            r = client.chat.completions.create(model="mock", messages=messages, tools=tools)
        choice = r.choices[0]
        if choice.finish_reason != "tool_calls":
            break
        messages.append({"role": "assistant", "content": None, "tool_calls": [c.model_dump(exclude={"function": {"parsed_arguments"}})
                                                                              for c in choice.message.tool_calls]})
        for c in choice.message.tool_calls:
            messages.append({"role": "tool", "tool_call_id": c.id, "content": run_tool(c.function.name, c.function.arguments)})
    assert turn == 1, "one tool call, then the answer"
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    assert "get_weather returned sunny in" in choice.message.content


def test_an_anthropic_tool_loop_ends_with_a_text_answer(claude):
    tools = [{"name": "get_weather", "description": "Weather for a city", "input_schema": GetWeather.model_json_schema()}]
    messages = [{"role": "user", "content": "What is the weather in Bergen? " + uuid.uuid4().hex}]
    m = claude.messages.create(model="mock", max_tokens=300, messages=messages, tools=tools)
    assert m.stop_reason == "tool_use"
    use = next(b for b in m.content if b.type == "tool_use")
    GetWeather.model_validate(use.input)
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                               "content": run_tool(use.name, json.dumps(use.input))}]}]
    m = claude.messages.create(model="mock", max_tokens=300, messages=messages, tools=tools)
    assert m.stop_reason == "end_turn"
    assert "get_weather returned sunny in" in m.content[0].text


def test_a_plain_model_rides_out_a_429_with_the_default_retries(client, upstream):
    messages = [{"role": "user", "content": "q-" + uuid.uuid4().hex}]
    t = time.time()
    raw = client.chat.completions.with_raw_response.create(model="up-flaky-429", messages=messages)
    assert raw.http_response.status_code == 200 and raw.headers["x-switchyard-attempts"] == "2"
    assert raw.parse().choices[0].message.content.startswith("echo: q-")
    calls = [c for c in upstream.calls_for("flaky-429") if c["body"]["messages"] == messages]
    assert len(calls) == 2 and calls[1]["received"] - calls[0]["received"] >= 1.0, "retry-after is a floor"
    assert time.time() - t >= 1.0
