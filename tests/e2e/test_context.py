"""Context fitting end to end on workerd: a 200-turn conversation against an upstream with an
8k window (the mock upstream's `window-8k`, which refuses an over-long request with OpenAI's
`context_length_exceeded`), summaries written once per block by the route's summarizer and
reused from the cache namespace; truncation; the refusal of `fit: error`; an Anthropic caller."""

import json
import secrets

import anthropic
import httpx

from conftest import DEV_KEY, upstream_calls as calls

SUMMARY_PREFIX = "Summary of the earlier part of this conversation"


def post(gateway, body):
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=60,
                      headers={"authorization": f"Bearer {DEV_KEY}"})


def turn_text(marker, i):
    return f"{marker} turn {i}: " + "please keep this in mind. " * 3


def long_history(marker, turns):
    messages = [{"role": "system", "content": "You are terse."}]
    for i in range(turns):
        messages += [{"role": "user", "content": turn_text(marker, i)},
                     {"role": "assistant", "content": "echo: " + turn_text(marker, i)}]
    return messages + [{"role": "user", "content": f"{marker} last question"}]


def test_two_hundred_turns_fit_an_8k_window_with_few_summaries(gateway, upstream):
    marker = "fit-" + secrets.token_hex(4)
    messages = [{"role": "system", "content": "You are terse."}]
    notes = []
    for i in range(200):
        messages.append({"role": "user", "content": turn_text(marker, i)})
        r = post(gateway, {"model": "r-fit-summarize", "messages": messages})
        assert r.status_code == 200, (i, r.text)
        notes.append(r.headers.get("x-switchyard-context"))
        messages.append(r.json()["choices"][0]["message"])
    main = calls(upstream, "window-8k", marker)
    summaries = calls(upstream, "summarize", marker)
    assert len(main) == 200, "one upstream call a turn: none refused and retried"
    assert "summarized" in notes and notes[0] is None
    # Every call the window-8k model saw fit its window: the gateway never let it say 400.
    from upstream import context_tokens
    assert max(context_tokens(c["body"]) for c in main) <= 8192
    # A summary is written once per block of the conversation, not once per turn.
    assert 1 <= len(summaries) <= 25, len(summaries)
    last = main[-1]["body"]["messages"]
    assert last[0]["content"] == "You are terse." and last[1]["content"].startswith(SUMMARY_PREFIX)
    assert turn_text(marker, 199) in last[-1]["content"]


def test_without_fitting_the_upstream_refuses_and_the_caller_gets_its_400(gateway):
    r = post(gateway, {"model": "r-fit-none", "messages": long_history("nofit-" + secrets.token_hex(4), 150)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_fit_error_refuses_without_an_upstream_call(gateway, upstream):
    marker = "fiterr-" + secrets.token_hex(4)
    r = post(gateway, {"model": "r-fit-error", "messages": long_history(marker, 150)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
    assert calls(upstream, "window-8k", marker) == []


def test_truncate_middle_keeps_the_first_and_latest_turns(gateway, upstream):
    marker = "trunc-" + secrets.token_hex(4)
    r = post(gateway, {"model": "r-fit-truncate", "messages": long_history(marker, 150)})
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-context"] == "truncated"
    sent = calls(upstream, "window-8k", marker)[0]["body"]["messages"]
    assert sent[0]["content"] == "You are terse." and sent[1]["content"] == turn_text(marker, 0)
    assert sent[-1]["content"] == f"{marker} last question" and len(sent) < 302


def test_an_anthropic_caller_is_summarized_too(gateway, upstream):
    marker = "fitant-" + secrets.token_hex(4)
    history = long_history(marker, 150)
    client = anthropic.Anthropic(base_url=gateway.url, api_key=DEV_KEY)
    raw = client.messages.with_raw_response.create(model="r-fit-summarize", max_tokens=256, system=history[0]["content"],
                                                   messages=history[1:])
    assert raw.headers["x-switchyard-context"] == "summarized"
    assert raw.parse().content[0].text.startswith("echo: ")
    assert calls(upstream, "summarize", marker)
