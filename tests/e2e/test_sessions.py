"""Stored conversations end to end on workerd (README, "Sessions"): `x-switchyard-session: new`
starts one, its id carries the history to every later turn (the upstream sees it whole),
for OpenAI and Anthropic callers, streamed or not; another tenant's id is unknown; the
limits refuse a turn before it reaches the upstream."""

import json
import secrets

import anthropic
import httpx
import openai
import pytest

from conftest import DEV_KEY, SESSION_MAX_ITEM_BYTES

NARROW_KEY = "sk-narrow-test"  # a key of another tenant ("other"), for the mock only
HEADER = "x-switchyard-session"


def calls_with(upstream, marker):
    """The upstream calls whose messages mention `marker`, in order."""
    return [c for c in upstream.calls if marker in json.dumps(c["body"].get("messages"))]


def contents(call):
    """The text of each message an upstream call carried (parts joined)."""
    out = []
    for m in call["body"]["messages"]:
        c = m.get("content")
        if isinstance(c, list):
            c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
        out.append(c)
    return out


def chat(client, session, text, model="up-ok", system=None, **kw):
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": text}]
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages, extra_headers={HEADER: session}, **kw)
    return raw.headers.get(HEADER), raw.parse()


def test_three_turns_each_carry_the_whole_history(client, upstream):
    marker = "turns-" + secrets.token_hex(4)
    sid, first = chat(client, "new", f"{marker} one", system="be brief")
    assert sid.startswith("conv_") and len(sid) == 37
    assert first.choices[0].message.content == f"echo: {marker} one"
    again, second = chat(client, sid, "two", system="be kind")
    assert again == sid
    chat(client, sid, "three")
    calls = calls_with(upstream, marker)
    assert len(calls) == 3, "one upstream call per turn"
    assert contents(calls[0]) == ["be brief", f"{marker} one"]
    assert contents(calls[1]) == ["be kind", f"{marker} one", f"echo: {marker} one", "two"]
    assert contents(calls[2]) == [f"{marker} one", f"echo: {marker} one", "two", "echo: two", "three"]
    assert second.choices[0].message.content == "echo: two", "the upstream's answer, as usual"


def test_a_streamed_turn_is_in_the_history_as_soon_as_the_stream_ends(gateway, client, upstream):
    marker = "stream-" + secrets.token_hex(4)
    body = {"model": "up-ok", "stream": True, "messages": [{"role": "user", "content": f"{marker} go"}]}
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {DEV_KEY}", HEADER: "new"}) as r:
        assert r.status_code == 200
        sid = r.headers[HEADER]
        text = "".join(r.iter_text())
    assert text.rstrip().endswith("data: [DONE]") or "data: [DONE]" in text
    # At once: the turn was stored before the stream's end went out.
    stream = client.chat.completions.create(model="up-ok", stream=True, messages=[{"role": "user", "content": "next"}],
                                            extra_headers={HEADER: sid})
    said = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert said == "echo: next"
    calls = calls_with(upstream, marker)
    assert contents(calls[-1]) == [f"{marker} go", f"echo: {marker} go", "next"]


def test_an_anthropic_caller_keeps_a_conversation(gateway, upstream):
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=DEV_KEY, max_retries=0, timeout=30)
    marker = "claude-" + secrets.token_hex(4)

    def turn(session, text, **kw):
        raw = claude.messages.with_raw_response.create(model="claude-ok", max_tokens=50, system="sys",
                                                       messages=[{"role": "user", "content": text}],
                                                       extra_headers={HEADER: session}, **kw)
        return raw.headers.get(HEADER), raw.parse()

    sid, first = turn("new", f"{marker} hi")
    assert first.content[0].text == f"echo: {marker} hi"
    with claude.messages.stream(model="claude-ok", max_tokens=50, messages=[{"role": "user", "content": "streamed"}],
                                extra_headers={HEADER: sid}) as s:
        assert "".join(s.text_stream).strip() == "echo: streamed"
    turn(sid, "third")
    calls = calls_with(upstream, marker)
    assert [c["wire"] for c in calls] == ["anthropic"] * 3
    assert calls[-1]["body"]["system"] == "sys"
    assert [m["role"] for m in calls[-1]["body"]["messages"]] == ["user", "assistant"] * 2 + ["user"]
    assert contents(calls[-1]) == [f"{marker} hi", f"echo: {marker} hi", "streamed", "echo: streamed ", "third"]


def test_a_conversation_moves_between_callers_and_upstreams(gateway, client, upstream):
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=DEV_KEY, max_retries=0, timeout=30)
    marker = "across-" + secrets.token_hex(4)
    sid, _ = chat(client, "new", f"{marker} from openai")
    raw = claude.messages.with_raw_response.create(model="claude-ok", max_tokens=50, messages=[{"role": "user", "content": "from claude"}],
                                                   extra_headers={HEADER: sid})
    assert raw.headers[HEADER] == sid
    calls = calls_with(upstream, marker)
    assert [c["wire"] for c in calls] == ["openai", "anthropic"]
    assert contents(calls[-1]) == [f"{marker} from openai", f"echo: {marker} from openai", "from claude"]


def test_another_tenants_session_is_not_found(gateway, client):
    sid, _ = chat(client, "new", "mine alone", model="mock")
    other = openai.OpenAI(base_url=gateway.url + "/v1", api_key=NARROW_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as e:
        chat(other, sid, "let me in", model="mock")
    assert e.value.body["code"] == "session_not_found"
    with pytest.raises(openai.NotFoundError):
        chat(client, "conv_" + "0" * 32, "made up", model="mock")
    again, _ = chat(client, sid, "still mine", model="mock")
    assert again == sid


def test_the_limits_refuse_a_turn_before_the_upstream(client, upstream):
    marker = "full-" + secrets.token_hex(4)
    sid, _ = chat(client, "new", f"{marker} 1")
    chat(client, sid, "2")
    chat(client, sid, "3")  # six messages: the conversation is full
    before = len(upstream.calls)
    with pytest.raises(openai.BadRequestError) as e:
        chat(client, sid, "4")
    assert e.value.status_code == 400 and e.value.body["code"] == "session_full"
    with pytest.raises(openai.APIStatusError) as e:
        chat(client, "new", "x" * (SESSION_MAX_ITEM_BYTES + 1))
    assert e.value.status_code == 413 and e.value.body["code"] == "session_item_too_large"
    assert len(upstream.calls) == before, "no refused turn reached the upstream"
