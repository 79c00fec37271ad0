"""The regex gates and the judge end to end on workerd (README, "Cascade"). The regex gates run
in the JavaScript driver (the core has no regex engine); the judge is upstream.py's `judge`
model, which scores 1.0 when the graded answer has "####" and 0.1 otherwise. The cascade's
weak rung (`ok`) echoes the last user message; the strong one ends with `#### 42`."""

import secrets

from conftest import post_chat as post, upstream_calls as calls


def test_an_answer_matching_the_patterns_passes_on_the_first_rung(gateway, upstream):
    marker = "rx-" + secrets.token_hex(4)
    r = post(gateway, "r-gates-regex", f"{marker}: what is 2+2?\n#### 4")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 1 of 2"
    assert len(calls(upstream, "ok", marker)) == 1 and calls(upstream, "final-number", marker) == []


def test_a_forbidden_pattern_re_prompts_then_escalates(gateway, upstream):
    marker = "rx-" + secrets.token_hex(4)
    r = post(gateway, "r-gates-regex", f"{marker}: Sorry to ask, what is 6*7?\n#### 42")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-model"] == "final-number"
    assert r.headers["x-switchyard-route-reason"].startswith(
        "cascade: rung 2 of 2, rung 1 failed not_regex, rung 1 re-prompt failed regex")
    again = calls(upstream, "ok", marker)[1]["body"]["messages"][-1]["content"]
    assert again.startswith("Your answer failed validation: it matches the pattern /\\bsorry\\b/i, which is not allowed")


def test_a_pattern_the_engine_refuses_is_a_422_naming_it(gateway):
    r = post(gateway, "r-gates-bad-regex", "what is 2+2?\n#### 4")
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "gates_failed"
    assert "a pattern could not be compiled: Invalid regular expression: /x{2,1}/" in err["message"], err


def test_the_judge_passes_a_good_answer_and_its_call_is_billed(gateway, upstream):
    marker = "jd-" + secrets.token_hex(4)
    r = post(gateway, "r-gates-judge", f"{marker}: what is 2+2?\n#### 4")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 1 of 2"
    graded = calls(upstream, "judge", marker)
    assert len(graded) == 1
    system, user = graded[0]["body"]["messages"]
    assert system["content"].endswith("Rubric: The answer ends with a line #### <number>.")
    assert "<answer>\necho: " in user["content"]
    # The rung: 16 tokens at $1/M; the judge: 16 tokens at $2/M.
    assert r.headers["x-switchyard-cost-usd"] == "0.000048000"


def test_a_low_score_re_prompts_then_escalates_with_the_judges_reason(gateway, upstream):
    marker = "jd-" + secrets.token_hex(4)
    r = post(gateway, "r-gates-judge", f"{marker}: what is 6*7?")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-model"] == "final-number"
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 2 of 2, rung 1 failed judge, rung 1 re-prompt failed judge"
    again = calls(upstream, "ok", marker)[1]["body"]["messages"][-1]["content"]
    assert again.startswith("Your answer failed validation: the judge scored it 0.1, below the threshold: it has no final line")
    assert len(calls(upstream, "judge", marker)) == 3
    # Two weak answers (2 x 16 tokens at $1/M), the strong one (11 in at $10/M, 5 out at $30/M),
    # three judge calls (3 x 16 tokens at $2/M).
    assert r.headers["x-switchyard-cost-usd"] == "0.000388000"


def test_a_judge_without_a_score_fails_open_when_told(gateway, upstream):
    marker = "jd-" + secrets.token_hex(4)
    r = post(gateway, "r-gates-judge-open", f"{marker}: what is 6*7?")
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-model"] == "ok"
    assert r.headers["x-switchyard-route-reason"] == "cascade: rung 1 of 2, rung 1 judge gave no score (passed)"
    assert len(calls(upstream, "judge-garbled", marker)) == 1
