"""Cascade routes end to end on workerd: a first rung whose answer passes its gate is the only
upstream call; a refused answer is re-prompted on the same rung, then the next rung answers;
when no rung passes, a 422 `gates_failed` lists the verdicts. The mock upstream's `ok` model
echoes the last user message (so it passes the `final_number` gate only when the prompt holds a
`#### <number>` line) and `final-number` always ends with `#### 42`."""

import json
import secrets

import openai
import pytest

from conftest import DEV_KEY, post_chat as post, upstream_calls as calls


def test_a_passing_first_rung_is_one_upstream_call(gateway, upstream):
    marker = "cas-" + secrets.token_hex(4)
    r = post(gateway, "r-cascade", f"{marker}: what is 2+2?\n#### 4")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 1 of 2"
    assert r.headers["x-switchyard-attempts"] == "1"
    assert r.json()["choices"][0]["message"]["content"].endswith("#### 4")
    assert len(calls(upstream, "ok", marker)) == 1 and calls(upstream, "final-number", marker) == []
    # 11 tokens in and 5 out at $1/M.
    assert r.headers["x-switchyard-cost-usd"] == "0.000016000"


def test_a_refused_answer_is_re_prompted_then_escalated(gateway, upstream):
    marker = "cas-" + secrets.token_hex(4)
    r = post(gateway, "r-cascade", f"{marker}: what is 6*7?")
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"].endswith("#### 42")
    assert r.headers["x-switchyard-model"] == "final-number"
    assert r.headers["x-switchyard-route-reason"] == \
        "cascade: rung 2 of 2, rung 1 failed final_number, rung 1 re-prompt failed final_number"
    assert r.headers["x-switchyard-attempts"] == "3"
    rungs = [part.split(" ") for part in r.headers["x-switchyard-rung-costs-usd"].split(", ")]
    assert [p[:2] for p in rungs] == [["rung", "1"], ["rung", "1"], ["rung", "2"]]
    assert round(sum(float(p[2]) for p in rungs), 9) == float(r.headers["x-switchyard-cost-usd"]), "the rungs add up"
    weak, strong = calls(upstream, "ok", marker), calls(upstream, "final-number", marker)
    assert (len(weak), len(strong)) == (2, 1)
    first, again = weak[0]["body"]["messages"], weak[1]["body"]["messages"]
    assert len(first) == 1 and [m["role"] for m in again] == ["user", "assistant", "user"]
    assert again[1]["content"] == f"echo: {marker}: what is 6*7?"
    assert again[2]["content"].startswith("Your answer failed validation: it has no line")
    assert strong[0]["body"]["messages"] == first, "the next rung gets the request as sent"
    assert "stream" not in strong[0]["body"] or strong[0]["body"]["stream"] is False
    # Both weak answers are billed with the strong one: 2 x 16 tokens at $1/M, 11 in at $10/M, 5 out at $30/M.
    assert r.headers["x-switchyard-cost-usd"] == "0.000292000"


def test_a_streaming_caller_gets_the_accepted_answer_as_a_stream(gateway, upstream):
    marker = "cas-" + secrets.token_hex(4)
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=DEV_KEY, max_retries=0, timeout=30)
    stream = client.chat.completions.create(model="r-cascade", stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": f"{marker}: what is 6*7?"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.endswith("#### 42")
    assert chunks[-1].usage is not None
    assert all(c["body"].get("stream") is not True for c in upstream.calls if marker in json.dumps(c["body"]))
    assert len(calls(upstream, "final-number", marker)) == 1


def test_when_no_rung_passes_the_reply_is_422_with_the_verdicts(gateway, upstream):
    marker = "cas-" + secrets.token_hex(4)
    r = post(gateway, "r-cascade-weak", f"{marker}: sorry?\n#### 1")
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "gates_failed"
    assert err["message"].count("up/ok: it contains \"sorry\"") == 4, err["message"]
    assert r.headers["x-switchyard-attempts"] == "4"
    assert r.headers["x-switchyard-route-reason"] == ("cascade: no rung of 2 passed, rung 1 failed forbidden, "
        "rung 1 re-prompt failed forbidden+final_number, rung 2 failed forbidden, rung 2 re-prompt failed forbidden+final_number")
    assert len(calls(upstream, "ok", marker)) == 4
    with pytest.raises(openai.UnprocessableEntityError):
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=DEV_KEY, max_retries=0).chat.completions.create(
            model="r-cascade-weak", messages=[{"role": "user", "content": f"{marker} sorry"}])
