"""The provider conformance fixtures (tests/fixtures, see its README) end to end: the mock
upstream answers each fixture's route with the fixture's reply, and each caller API's official
SDK must read what the fixture's `expect` says, as the host suite checks on the core alone.
One request per fixture and caller API, through a route without retries."""

import json

import anthropic
import openai
import pytest

from conftest import fx_route
from upstream import fixtures

CASES = fixtures()
IDS = [f"{v}/{c}" for (v, c), _ in CASES]
HI = [{"role": "user", "content": "hi"}]
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
          "tool_use": "tool_calls", "refusal": "content_filter"}


def arguments(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def openai_usage(u):
    if u is None:
        return None
    cached = (u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else 0) or 0
    reasoning = (u.completion_tokens_details.reasoning_tokens if u.completion_tokens_details else 0) or 0
    return {"input": u.prompt_tokens, "output": u.completion_tokens, "cached": cached, "cache_write": 0, "reasoning": reasoning}


def anthropic_usage(u):
    if not u:
        return None
    read, write = u.get("cache_read_input_tokens") or 0, u.get("cache_creation_input_tokens") or 0
    return {"input": (u.get("input_tokens") or 0) + read + write, "output": u.get("output_tokens") or 0,
            "cached": read, "cache_write": write, "reasoning": 0}


def error_view(status, body_error, headers):
    e = {"status": status, "type": body_error.get("type")}
    if "code" in body_error:
        e["code"] = body_error["code"]
    if headers.get("retry-after"):
        e["retry_after"] = headers["retry-after"]
    return {"error": e}


def openai_view(client, route, stream):
    try:
        if not stream:
            r = client.chat.completions.create(model=route, messages=HI)
            c = r.choices[0]
            calls = [{"name": t.function.name, "arguments": arguments(t.function.arguments)} for t in c.message.tool_calls or []]
            return {"text": c.message.content or "", "tool_calls": calls, "finish": c.finish_reason, "usage": openai_usage(r.usage)}
        view = {"text": "", "tool_calls": [], "finish": None, "usage": None}
        calls = {}
        try:
            for chunk in client.chat.completions.create(model=route, messages=HI, stream=True, stream_options={"include_usage": True}):
                if chunk.usage:
                    view["usage"] = openai_usage(chunk.usage)
                for ch in chunk.choices:
                    view["text"] += ch.delta.content or ""
                    for t in ch.delta.tool_calls or []:
                        call = calls.setdefault(t.index, {"name": "", "arguments": ""})
                        call["name"] += (t.function and t.function.name) or ""
                        call["arguments"] += (t.function and t.function.arguments) or ""
                    view["finish"] = ch.finish_reason or view["finish"]
        except openai.APIError as e:
            if isinstance(e, openai.APIStatusError):
                raise
            view["stream_error"] = e.message
        view["tool_calls"] = [{"name": c["name"], "arguments": arguments(c["arguments"])} for _, c in sorted(calls.items())]
        return view
    except openai.APIStatusError as e:
        return error_view(e.status_code, e.body if isinstance(e.body, dict) else {}, e.response.headers)


def anthropic_view(claude, route, stream):
    try:
        if not stream:
            r = claude.messages.create(model=route, max_tokens=64, messages=HI)
            text = "".join(b.text for b in r.content if b.type == "text")
            calls = [{"name": b.name, "arguments": b.input} for b in r.content if b.type == "tool_use"]
            return {"text": text, "tool_calls": calls, "finish": FINISH.get(r.stop_reason, r.stop_reason),
                    "usage": anthropic_usage(r.usage.model_dump())}
        view = {"text": "", "tool_calls": [], "finish": None, "usage": None}
        # Usage is read as the host suite's decoder reads it: once the message_delta has come.
        blocks, usage, delta_seen = {}, {}, False
        try:
            for ev in claude.messages.create(model=route, max_tokens=64, messages=HI, stream=True):
                if ev.type == "message_start":
                    usage.update({k: v for k, v in ev.message.usage.model_dump().items() if v is not None})
                elif ev.type == "content_block_start" and ev.content_block.type == "tool_use":
                    blocks[ev.index] = {"name": ev.content_block.name, "arguments": ""}
                elif ev.type == "content_block_delta" and ev.delta.type == "text_delta":
                    view["text"] += ev.delta.text
                elif ev.type == "content_block_delta" and ev.delta.type == "input_json_delta":
                    blocks[ev.index]["arguments"] += ev.delta.partial_json
                elif ev.type == "message_delta":
                    view["finish"] = FINISH.get(ev.delta.stop_reason, ev.delta.stop_reason)
                    usage.update({k: v for k, v in ev.usage.model_dump().items() if v is not None})
                    delta_seen = True
        except anthropic.APIStatusError as e:
            if e.status_code != 200:
                raise
            view["stream_error"] = str(e)
        view["usage"] = anthropic_usage(usage) if delta_seen else None
        view["tool_calls"] = [{"name": b["name"], "arguments": arguments(b["arguments"] or "{}")} for _, b in sorted(blocks.items())]
        return view
    except anthropic.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        return error_view(e.status_code, body.get("error") or {}, e.response.headers)


def compare(got, want, what):
    if "stream_error" in want and want["stream_error"] in str(got.get("stream_error")):
        got["stream_error"] = want["stream_error"]
    if "error" in want and "code" not in got.get("error", {"code": None}):
        # An Anthropic error body has no gateway code: the status and type stand for it.
        want = {"error": {k: v for k, v in want["error"].items() if k != "code"}}
    assert got == want, what


@pytest.mark.parametrize("case", [f for _, f in CASES], ids=IDS)
def test_fixture_through_the_gateway(case, client, claude, upstream, request):
    vendor, name = request.node.callspec.id.split("/")
    route, stream = fx_route(vendor, name), "stream" in case
    before = len(upstream.calls_for(f"fx.{vendor}.{name}"))
    compare(openai_view(client, route, stream), case["expect"]["openai"], f"{vendor}/{name}, OpenAI SDK")
    compare(anthropic_view(claude, route, stream), case["expect"]["anthropic"], f"{vendor}/{name}, Anthropic SDK")
    assert len(upstream.calls_for(f"fx.{vendor}.{name}")) - before == 2, "one upstream call per request"
