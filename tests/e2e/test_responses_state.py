"""The Responses API's stored state end to end on workerd (README, "Responses API"), with the
official OpenAI SDK: chains by `previous_response_id` whose every turn carries the whole
history upstream (OpenAI-, Anthropic- and Gemini-kind upstreams, a function call across
turns), `responses.retrieve`, `responses.input_items.list`, `responses.delete`, `store: false`,
`conversation`, and another tenant's ids (404)."""

import json
import secrets
import time

import openai
import pytest

from conftest import SPEND_KEYS

OTHER_KEY = SPEND_KEYS["usage"][0]  # a key of another tenant
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def calls_with(upstream, marker):
    return [c for c in upstream.calls if marker in json.dumps(c["body"])]


@pytest.mark.parametrize("model", ["up-ok", "claude-ok", "gemini-ok"])
def test_a_three_turn_chain_carries_the_whole_history(client, upstream, model):
    marker = "chain-" + secrets.token_hex(4)
    first = client.responses.create(model=model, input=f"{marker} one", instructions="be brief")
    assert first.id.startswith("resp_") and len(first.id) == 53
    second = client.responses.create(model=model, input="two", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    third = client.responses.create(model=model, input="three", previous_response_id=second.id, instructions="be kind")
    assert third.status == "completed"
    calls = calls_with(upstream, marker)
    assert len(calls) == 3, "one upstream call per turn"
    last = json.dumps(calls[2]["body"])
    for text in [f"{marker} one", first.output_text, "two", second.output_text, "three", "be kind"]:
        assert text in last, (text, last)
    assert "be brief" not in last, "instructions are not inherited"


def test_a_function_call_crosses_turns(client, upstream):
    marker = "tool-" + secrets.token_hex(4)
    first = client.responses.create(model="up-ok", input=f"{marker} weather in Oslo?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model="up-ok", tools=[WEATHER], tool_choice="none", previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.status == "completed"
    sent = calls_with(upstream, marker)[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == call.call_id


def test_retrieve_list_and_delete(client):
    r = client.responses.create(model="up-ok", input=[{"role": "user", "content": "keep me"}])
    got = client.responses.retrieve(r.id)
    assert (got.id, got.output_text) == (r.id, r.output_text)
    items = client.responses.input_items.list(r.id)
    assert [i.role for i in items.data] == ["user"] and items.data[0].content[0].text == "keep me"
    deleted = client.responses.delete(r.id)
    assert deleted is None or getattr(deleted, "id", r.id) == r.id
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)


def test_store_false_is_not_kept(client):
    r = client.responses.create(model="up-ok", input="forget me", store=False)
    assert r.id.startswith("resp_") and r.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)


def test_another_tenants_ids_are_unknown(gateway, client):
    other = openai.OpenAI(base_url=gateway.url + "/v1", api_key=OTHER_KEY, max_retries=0, timeout=30)
    r = client.responses.create(model="up-ok", input="mine")
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(r.id)
    with pytest.raises(openai.NotFoundError) as e:
        other.responses.create(model="up-ok", input="x", previous_response_id=r.id)
    assert e.value.body["param"] == "previous_response_id"
    assert client.responses.retrieve(r.id).id == r.id, "still there for its tenant"


def wait_done(client, r, timeout=60):
    deadline = time.time() + timeout
    while r.status in ("queued", "in_progress"):
        assert time.time() < deadline, r
        time.sleep(0.3)
        r = client.responses.retrieve(r.id)
    return r


def test_background_runs_as_a_job_and_chains(client, upstream):
    marker = "bg-" + secrets.token_hex(4)
    r = client.responses.create(model="up-ok", input=f"{marker} first", background=True)
    assert r.status == "queued" and r.background and r.id.startswith("resp_"), r
    done = wait_done(client, r)
    assert done.status == "completed" and done.id == r.id, done
    assert done.output_text == f"echo: {marker} first"
    nxt = client.responses.create(model="up-ok", input="second", previous_response_id=r.id, background=True)
    done = wait_done(client, nxt)
    assert done.output_text == "echo: second" and done.previous_response_id == r.id
    sent = json.dumps(calls_with(upstream, marker)[-1]["body"])
    assert f"{marker} first" in sent and "second" in sent, "the chain carried the history"
    assert len(calls_with(upstream, marker)) == 2


def test_background_cancel_and_refusals(client):
    ids = [client.responses.create(model="up-slow", input=f"slow {i}", background=True).id for i in range(6)]
    c = client.responses.cancel(ids[-1])
    assert c.id == ids[-1] and c.status in ("cancelled", "completed"), c
    for i in ids:
        wait_done(client, client.responses.retrieve(i))
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="up-ok", input="x", background=True, store=False)
    assert e.value.body["param"] == "store"
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_" + "0" * 48)


def test_a_conversation_holds_its_responses(gateway, client, upstream):
    marker = "conv-" + secrets.token_hex(4)
    conv = client.conversations.create(items=[{"type": "message", "role": "user", "content": f"{marker} I am Ada."}], metadata={"k": "v"})
    assert conv.id.startswith("conv_") and conv.metadata == {"k": "v"}
    first = client.responses.create(model="up-ok", input="who am I?", conversation=conv.id)
    client.responses.create(model="claude-ok", input="again", conversation={"id": conv.id})
    last = json.dumps(calls_with(upstream, marker)[-1]["body"])
    for text in [f"{marker} I am Ada.", "who am I?", first.output_text, "again"]:
        assert text in last, (text, last)
    assert client.conversations.retrieve(conv.id).id == conv.id
    items = client.conversations.items.list(conv.id, order="asc")
    assert [i.type for i in items.data][:2] == ["message", "message"] and len(items.data) == 5
    other = openai.OpenAI(base_url=gateway.url + "/v1", api_key=OTHER_KEY, max_retries=0, timeout=30)
    with pytest.raises(openai.NotFoundError):
        other.conversations.retrieve(conv.id)
    assert client.conversations.delete(conv.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)
