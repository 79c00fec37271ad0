"""Queued jobs on Cloudflare Queues (README, "Jobs"): submission and its validation, tenant
isolation, cancel, a per-model concurrency limit that holds under 100 jobs, a provider quota
shared by two models, a 429 that re-queues the job, and no job lost (nor run twice once done)
across a gateway restart."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest

from conftest import DEV_KEY, RESPONSE_EVENTS_PATH, WEBHOOK_SECRET, Gateway
from upstream import max_in_flight

NARROW_KEY = "sk-narrow-test"


def chat(model, text):
    return {"url": "/v1/chat/completions", "body": {"model": model, "messages": [{"role": "user", "content": text}]}}


def submit(http, job):
    r = http.post("/v1/jobs", json=job)
    assert r.status_code == 202, r.text
    v = r.json()
    assert v["object"] == "job" and v["status"] == "queued" and v["id"].startswith("job_"), v
    return v["id"]


def wait_all(http, ids, timeout=120):
    deadline = time.time() + timeout
    done = {}
    while time.time() < deadline:
        for i in ids:
            if i in done:
                continue
            try:
                v = http.get(f"/v1/jobs/{i}").json()
            except httpx.HTTPError:
                continue
            if v.get("status") in ("succeeded", "failed", "cancelled"):
                done[i] = v
        if len(done) == len(ids):
            return done
        time.sleep(0.5)
    pending = [i for i in ids if i not in done]
    raise AssertionError(f"{len(pending)} jobs not finished, e.g. {http.get(f'/v1/jobs/{pending[0]}').text}")


def test_a_job_runs_and_its_result_is_kept(http, upstream):
    marker = uuid.uuid4().hex
    job = chat("up-ok", f"job {marker}")
    job["metadata"] = {"batch": "b1"}
    jid = submit(http, job)
    v = wait_all(http, [jid])[jid]
    assert v["status"] == "succeeded", v
    assert v["result"]["status"] == 200
    assert v["result"]["body"]["choices"][0]["message"]["content"] == f"echo: job {marker}"
    assert v["metadata"] == {"batch": "b1"} and v["attempts"] == 1 and v["completed_at"] >= v["created_at"]
    assert "body" not in v and "who" not in v
    sent = [c for c in upstream.calls_for("ok") if marker in str(c["body"])]
    assert len(sent) == 1


def test_a_capability_runs_as_a_job(http):
    # conftest's `maths` capability: the weak rung echoes (no `####` line), the strong one
    # answers `#### 42`.
    jid = submit(http, {"url": "/v1/capabilities/maths", "body": {"input": {"input": "What is 6*7?"}}})
    v = wait_all(http, [jid])[jid]
    assert v["status"] == "succeeded", v
    out = v["result"]["body"]
    assert out["model"] == "cascade-strong" and out["output"].endswith("#### 42"), out
    r = http.post("/v1/jobs", json={"url": "/v1/capabilities/nothing", "body": {"input": {}}})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "url")


def test_another_tenants_job_is_not_found(http, gateway):
    jid = submit(http, chat("mock", "mine"))
    with httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {NARROW_KEY}"}) as other:
        for r in (other.get(f"/v1/jobs/{jid}"), other.post(f"/v1/jobs/{jid}/cancel")):
            assert r.status_code == 404 and r.json()["error"]["code"] == "job_not_found", r.text
    unknown = "job_" + "0" * 32
    assert http.get(f"/v1/jobs/{unknown}").status_code == 404
    assert http.get("/v1/jobs/nope").status_code == 404


@pytest.mark.parametrize("job,param", [
    ({"url": "/v1/models", "body": {"model": "mock"}}, "url"),
    ({"url": "/v1/chat/completions"}, "body"),
    ({"url": "/v1/chat/completions", "body": "hi"}, "body"),
    ({"url": "/v1/chat/completions", "body": {"model": "mock", "stream": True, "messages": []}}, "body.stream"),
    ({"url": "/v1/embeddings", "body": {"input": "x"}}, "body.model"),
    ({**chat("mock", "x"), "webhook": {"url": "https://example.com/hook"}}, "webhook.url"),
    ({**chat("mock", "x"), "webhook": {"url": "ftp://127.0.0.1/hook"}}, "webhook.url"),
    ({**chat("mock", "x"), "webhook": "https://example.com/hook"}, "webhook"),
])
def test_bad_submissions_are_400(http, job, param):
    r = http.post("/v1/jobs", json=job)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


def test_cancel_a_queued_job(http):
    # Queue more jobs than the limit lets run, then cancel the last: it never succeeds.
    ids = [submit(http, chat("job-slow", f"fill {i} {uuid.uuid4().hex}")) for i in range(8)]
    r = http.post(f"/v1/jobs/{ids[-1]}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("cancelled", "succeeded")
    cancelled = r.json()["status"] == "cancelled"
    done = wait_all(http, ids)
    if cancelled:
        assert done[ids[-1]]["status"] == "cancelled" and "result" not in done[ids[-1]]
    assert http.post(f"/v1/jobs/{ids[0]}/cancel").json()["status"] == "succeeded", "a finished job stays finished"


def test_a_429_requeues_the_job(http, upstream):
    marker = uuid.uuid4().hex
    jid = submit(http, chat("r-job-429", marker))
    started = time.time()
    v = wait_all(http, [jid])[jid]
    assert v["status"] == "succeeded" and v["attempts"] == 2, v
    assert time.time() - started >= 1, "the retry waited for retry-after"
    assert len([c for c in upstream.calls_for("once-429") if marker in str(c["body"])]) == 2


def run_once_each(http, upstream, ids, tag, counting_model, timeout):
    """Wait for the jobs, check each succeeded and called the upstream once; the peak in flight."""
    done = wait_all(http, ids, timeout=timeout)
    assert all(v["status"] == "succeeded" for v in done.values()), [v for v in done.values() if v["status"] != "succeeded"][:2]
    sent = [c for c in upstream.calls_for(counting_model) if tag in str(c["body"])]
    assert len(sent) == len(ids), "each job called the upstream once"
    return max_in_flight(counting_model)


def test_100_jobs_never_exceed_the_concurrency_limit(http, upstream):
    tag = uuid.uuid4().hex
    ids = [submit(http, chat("job-slow", f"{tag} {i}")) for i in range(100)]
    # The tenant's queue depth (/v1/stats) counts every job not finished yet: at four at a
    # time, many of the hundred are still waiting once the last is submitted.
    assert http.get("/v1/stats").json()["queue_depth"] >= 20
    peak = run_once_each(http, upstream, ids, tag, "slow-count-job-slow", timeout=240)
    assert 1 < peak <= 4, peak
    deadline = time.time() + 30
    while (depth := http.get("/v1/stats").json()["queue_depth"]) and time.time() < deadline:
        time.sleep(0.5)  # another test's job may still be finishing
    assert depth == 0, "every finished job left the count"


def test_a_provider_quota_holds_across_its_models(http, upstream):
    # Two models on one provider, each allowed 4 jobs at once, the provider 2: the upstream
    # (one counting model id behind both) never sees more than 2 calls at once.
    tag = uuid.uuid4().hex
    ids = [submit(http, chat(("job-pq-a", "job-pq-b")[i % 2], f"{tag} {i}")) for i in range(20)]
    peak = run_once_each(http, upstream, ids, tag, "slow-count-pq", timeout=180)
    assert 1 < peak <= 2, peak


def test_no_job_is_lost_across_a_restart(upstream, tmp_path):
    g = Gateway(tmp_path, upstream.port)
    try:
        g.wait_ready()
        tag = uuid.uuid4().hex
        with httpx.Client(base_url=g.url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30) as http:
            ids = [submit(http, chat("job-slow-restart", f"{tag} #{i}#")) for i in range(40)]
            deadline = time.time() + 60
            while not [c for c in upstream.calls_for("slow-count-job-slow-restart") if tag in str(c["body"])]:
                assert time.time() < deadline, "no job started"
                time.sleep(0.1)
        g.stop()
    except BaseException:
        g.stop()
        raise
    g = Gateway(tmp_path, upstream.port)
    try:
        g.wait_ready()
        with httpx.Client(base_url=g.url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30) as http:
            done = wait_all(http, ids, timeout=240)
    finally:
        g.stop()
    assert all(v["status"] == "succeeded" for v in done.values()), [v for v in done.values() if v["status"] != "succeeded"][:2]
    sent = [str(c["body"]) for c in upstream.calls_for("slow-count-job-slow-restart") if tag in str(c["body"])]
    for i in range(40):
        n = sum(f"#{i}#" in s for s in sent)
        # A job cut off mid-call by the restart may be sent once more; one that succeeded never is.
        assert 1 <= n <= 2, (i, n)
    assert max_in_flight("slow-count-job-slow-restart") <= 4


def wait_webhooks(upstream, path, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        hooks = upstream.webhooks_to(path)
        if len(hooks) >= n:
            return hooks
        time.sleep(0.2)
    raise AssertionError(f"{len(upstream.webhooks_to(path))} webhooks to {path}, expected {n}")


def verify(hook):
    """The Standard Webhooks check a receiver makes, with Python's hmac."""
    h = hook["headers"]
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + hook["raw"]
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(h["webhook-signature"], expected), (h, expected)
    assert abs(int(h["webhook-timestamp"]) - time.time()) < 60


@pytest.mark.parametrize("kind", ["once", "flaky"])
def test_a_finished_job_posts_a_signed_webhook(http, upstream, kind):
    path = f"/webhook/{kind}-{uuid.uuid4().hex}"
    job = chat("up-ok", f"hook {path}")
    job["webhook"] = {"url": f"http://127.0.0.1:{upstream.port}{path}"}
    jid = submit(http, job)
    v = wait_all(http, [jid])[jid]
    assert v["status"] == "succeeded", v
    hooks = wait_webhooks(upstream, path, 1 if kind == "once" else 2)
    for hook in hooks:
        verify(hook)
        assert hook["headers"]["webhook-id"] == jid
        assert json.loads(hook["raw"]) == http.get(f"/v1/jobs/{jid}").json()
    if kind == "flaky":
        assert hooks[1]["received"] - hooks[0]["received"] >= 4.5, "the retry waits for the job's alarm (5 s)"
    time.sleep(2)
    assert len(upstream.webhooks_to(path)) == len(hooks), "no webhook after a 2xx"


def test_a_cancelled_job_posts_its_webhook(http, upstream):
    path = f"/webhook/cancel-{uuid.uuid4().hex}"
    job = chat("job-slow", "cancel me")
    job["webhook"] = {"url": f"http://127.0.0.1:{upstream.port}{path}"}
    jid = submit(http, job)
    r = http.post(f"/v1/jobs/{jid}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    (hook,) = wait_webhooks(upstream, path, 1)
    verify(hook)
    body = json.loads(hook["raw"])
    assert body["id"] == jid and body["status"] == "cancelled" and body == http.get(f"/v1/jobs/{jid}").json()


def test_a_webhook_retry_survives_a_restart(upstream, tmp_path):
    """The first try fails (503); the gateway stops before the second is due. The second try
    is the job object's alarm, kept with the job, so it arrives after the restart."""
    path = f"/webhook/flaky-restart-{uuid.uuid4().hex}"
    job = chat("up-ok", f"hook {path}")
    job["webhook"] = {"url": f"http://127.0.0.1:{upstream.port}{path}"}
    g = Gateway(tmp_path, upstream.port)
    try:
        g.wait_ready()
        with httpx.Client(base_url=g.url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30) as http:
            jid = submit(http, job)
            wait_webhooks(upstream, path, 1)
    finally:
        g.stop()
    assert len(upstream.webhooks_to(path)) == 1
    g = Gateway(tmp_path, upstream.port)
    try:
        g.wait_ready()
        first, second = wait_webhooks(upstream, path, 2)
        for hook in (first, second):
            verify(hook)
            assert hook["headers"]["webhook-id"] == jid
        assert second["raw"] == first["raw"]
        time.sleep(2)
        assert len(upstream.webhooks_to(path)) == 2, "no webhook after a 2xx"
    finally:
        g.stop()


def test_a_background_response_sends_openai_events(http, upstream):
    """A tenant's background responses send OpenAI's response.* webhook events to the
    tenant's response_events_url; the openai SDK's own verifier accepts them."""
    import openai

    base = str(http.base_url).rstrip("/") + "/v1"
    client = openai.OpenAI(base_url=base, api_key=DEV_KEY, webhook_secret=WEBHOOK_SECRET)
    done = client.responses.create(model="up-ok", input=f"event {uuid.uuid4().hex}", background=True)
    slow = client.responses.create(model="up-sleep-3000", input=f"cancel {uuid.uuid4().hex}", background=True)
    assert client.responses.cancel(slow.id).status == "cancelled"

    def event_for(rid):
        deadline = time.time() + 60
        while time.time() < deadline:
            for hook in upstream.webhooks_to(RESPONSE_EVENTS_PATH):
                event = client.webhooks.unwrap(hook["raw"].decode(), hook["headers"])
                if event.data.id == rid:
                    assert hook["headers"]["webhook-id"] == event.id
                    return event
            time.sleep(0.2)
        raise AssertionError(f"no event for {rid}")

    event = event_for(done.id)
    assert event.type == "response.completed" and event.object == "event" and event.id.startswith("evt_"), event
    assert client.responses.retrieve(done.id).status == "completed"
    assert event_for(slow.id).type == "response.cancelled"
    # A plain job of the same tenant still posts only its own webhook, not an event.
    assert all(json.loads(h["raw"])["object"] == "event" for h in upstream.webhooks_to(RESPONSE_EVENTS_PATH))
