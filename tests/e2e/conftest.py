"""End-to-end fixtures: the real worker on workerd (`wrangler dev`, local KV and Durable
Objects, fresh state per run) in front of a mock OpenAI upstream that the tests start."""

import base64
import hashlib
import json
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from upstream import Upstream, fixtures

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "sk-switchyard-dev"
DEV_KEY_SHA256 = "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3"
# A recognisable provider key: it must never reach a client or a log line.
CANARY_KEY = "sk-canary-" + secrets.token_hex(12)
WEB_KEY = "sk-web-backend"
WEB_KEY_SHA256 = hashlib.sha256(WEB_KEY.encode()).hexdigest()
APP_ORIGIN = "https://app.example"
ADMIN_KEY = "sk-admin-" + secrets.token_hex(8)
# Keys with spend control, each in a tenant of its own: name -> (key, tenant, limits).
SPEND_KEYS = {
    "rpm": ("sk-spend-rpm", "t-rpm", {"requests_per_minute": 5}),
    "budget": ("sk-spend-budget", "t-budget", {}),
    "usage": ("sk-spend-usage", "t-usage", {}),
    "tpm": ("sk-spend-tpm", "t-tpm", {"tokens_per_minute": 60}),
    "conc": ("sk-spend-conc", "t-conc", {"concurrent_requests": 2}),
}
# $10 per million tokens in and out: 10,000 nano-USD a token.
PRICED = {"input": 10, "output": 10}
# Fits exactly ten reservations of a 40-character prompt (17 tokens estimated) with
# max_tokens 5: 10 x 22 tokens x 10,000 nano-USD.
BUDGET_USD = 0.0022


# Stored conversations' limits in the test config.
SESSION_MAX_ITEMS = 6
SESSION_MAX_ITEM_BYTES = 4096


# The provider each vendor's conformance fixtures are served on.
FX_PROVIDERS = {"openai": "up", "anthropic": "anth", "gemini": "gem"}


def fx_model(vendor, case):
    """The public model serving conformance fixture `vendor/case`."""
    return f"fx-{vendor}-{case.replace('_', '-')}"


def fx_route(vendor, case):
    """A route of that model alone, without retries: one upstream call per request."""
    return "fxr-" + fx_model(vendor, case)[3:]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_chat(gateway, model, content, **extra):
    """One user message to /v1/chat/completions with the dev key (`extra`: more body fields)."""
    body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {DEV_KEY}"})


def upstream_calls(upstream, model, marker):
    """The mock upstream's calls for `model` whose body holds `marker`."""
    return [c for c in upstream.calls if c["body"].get("model") == model and marker in json.dumps(c["body"])]


def add_gates_config(config):
    """The regex and judge gates' routes (tests/e2e/test_gates.py): the cascade's rungs, and a
    judge that scores by a rule (upstream.py's `judge`) or gives no score (`judge-garbled`)."""
    config["models"] += [{"name": "gates-judge", "provider": "up", "model": "judge", "prices": {"input": 2, "output": 2}},
                         {"name": "gates-judge-garbled", "provider": "up", "model": "judge-garbled"}]
    rungs = [{"model": "cascade-weak"}, {"model": "cascade-strong"}]
    judge = {"model": "gates-judge", "rubric": "The answer ends with a line #### <number>.", "threshold": 0.7, "on_error": "fail"}
    config["routes"] += [
        {"name": "r-gates-regex", "strategy": "cascade", "steps": rungs, "retry": {"max_retries": 0},
         "gates": {"regex": ["/^#### \\d+$/m"], "not_regex": ["/\\bsorry\\b/i"]}},
        {"name": "r-gates-bad-regex", "strategy": "cascade", "steps": rungs, "retry": {"max_retries": 0},
         "gates": {"regex": ["x{2,1}"]}},
        {"name": "r-gates-judge", "strategy": "cascade", "steps": rungs, "retry": {"max_retries": 0}, "gates": {"judge": judge}},
        {"name": "r-gates-judge-open", "strategy": "cascade", "steps": rungs, "retry": {"max_retries": 0},
         "gates": {"judge": {**judge, "model": "gates-judge-garbled", "on_error": "pass"}}},
    ]
    return config


CAP_KEY = "sk-cap-only-" + secrets.token_hex(8)
CAP_RATES_KEY = "sk-cap-rates-" + secrets.token_hex(8)
CAP_LEARN_KEY = "sk-cap-learn-" + secrets.token_hex(8)


def add_capabilities(config):
    """test_capabilities.py's part: capabilities on the cascade mock models (the weak one
    echoes, the strong one ends with `#### 42`, the built-in mock fits JSON schemas), and a key
    scoped to one capability."""
    config["capabilities"] = {
        "maths": {"user": "Question: {{input}}", "gates": {"final_number": True}, "ladder": ["cascade-weak", "cascade-strong"]},
        "maths-capped": {"user": "Question: {{input}}", "gates": {"final_number": True},
                         "ladder": ["cascade-weak", "cascade-strong"], "max_attempts": 1},
        "maths-learning": {"user": "Question: {{input}}", "gates": {"final_number": True},
                           "ladder": ["cascade-weak", "cascade-strong"], "min_pass_rate": 0.5, "min_samples": 2},
        "extract": {"system": "Extract the name.", "user": "Text: {{text}}",
                    "input_schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
                    "output": {"json_schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
                    "ladder": ["cascade-weak", "mock"]},
    }
    # cheapest_capable candidates: up-no-tools and up-window-8k cost nothing (in step order),
    # cascade-weak $2/M, cascade-strong $40/M.
    steps = [{"model": m} for m in ["cascade-strong", "cascade-weak", "up-no-tools", "up-window-8k"]]
    config["routes"] += [{"name": "r-cheapest", "strategy": "cheapest_capable", "steps": steps, "retry": {"max_retries": 0}},
                         {"name": "r-cheapest-capped", "strategy": "cheapest_capable", "steps": steps, "max_price": 1}]
    config["keys"].append({"name": "cap-only", "sha256": hashlib.sha256(CAP_KEY.encode()).hexdigest(), "tenant": "cap",
                           "models": ["cap:maths"]})
    config["keys"].append({"name": "cap-learn", "sha256": hashlib.sha256(CAP_LEARN_KEY.encode()).hexdigest(), "tenant": "cap-learn"})
    config["keys"].append({"name": "cap-rates", "sha256": hashlib.sha256(CAP_RATES_KEY.encode()).hexdigest(), "tenant": "cap-rates"})
    return config


def test_config(upstream_port):
    base = f"http://127.0.0.1:{upstream_port}/v1"
    behaviours = ["ok", "status-400", "status-429", "status-500", "status-503", "echo-key-401",
                  "malformed", "cut", "slow-stream", "sleep-3000", "flaky-429", "status-502", "status-504"]
    models = [{"name": "up-" + b, "provider": "up", "model": b, "capabilities": {"tools": True, "vision": True, "json": True}}
              for b in behaviours]
    models.append({"name": "up-timeout", "provider": "up-short", "model": "sleep-3000"})
    models.append({"name": "up-ttfb-sleep", "provider": "up-ttfb", "model": "sleep-3000"})
    models.append({"name": "up-idle-slow", "provider": "up-idle", "model": "slow-stream"})
    for family, provider in (("claude", "anth"), ("gemini", "gem")):
        for b in ["ok", "cut", "status-429", "status-500"]:
            models.append({"name": f"{family}-{b}", "provider": provider, "model": b, "max_output_tokens": 512,
                           "capabilities": {"tools": True, "vision": True, "json": True}})
    models.append({"name": "claude-status-529", "provider": "anth", "model": "status-529", "max_output_tokens": 512})
    for b in ["key-invalid", "echo-key-400", "stream-echo-key"]:
        models.append({"name": f"gemini-{b}", "provider": "gem", "model": b})
    models.append({"name": "up-no-tools", "provider": "up", "model": "ok", "capabilities": {"tools": False}})
    models.append({"name": "mock", "aliases": ["gpt-4o-mini"], "provider": "mock", "model": "mock-1", "prices": {"input": 0.15, "output": 0.6}})
    models.append({"name": "emb-up", "provider": "up", "model": "text-embedding-3-small"})
    models.append({"name": "emb-gemini", "provider": "gem", "model": "gemini-embedding-001"})
    models.append({"name": "up-priced", "provider": "up", "model": "priced", "prices": PRICED, "max_output_tokens": 92})
    models.append({"name": "up-priced-slow", "provider": "up", "model": "sleep-400", "prices": PRICED})
    models.append({"name": "emb-bow", "provider": "up", "model": "bow-embedding", "prices": PRICED})
    models.append({"name": "emb-priced", "provider": "up", "model": "text-embedding-3-small", "prices": PRICED})
    models.append({"name": "up-slow", "provider": "up", "model": "sleep-300"})
    models.append({"name": "up-slow-fail", "provider": "up", "model": "slow-fail"})
    models.append({"name": "mock-rate-limited", "provider": "mock", "model": "fault:status=429,retry_after=1"})
    # The retrying routes' targets, on a provider of their own: plain models retry too, and a
    # provider's retries are budgeted, so the plain failures of other tests must not spend them.
    models.append({"name": "rt-flaky-429", "provider": "up-rt", "model": "flaky-429"})
    models.append({"name": "rt-status-503", "provider": "up-rt", "model": "status-503"})
    fx = [vendor_case for vendor_case, _ in fixtures()]
    models += [{"name": fx_model(v, c), "provider": FX_PROVIDERS[v], "model": f"fx.{v}.{c}", "max_output_tokens": 512,
                "capabilities": {"tools": True, "vision": True, "json": True}} for v, c in fx]
    models.append({"name": "emb-azure", "provider": "az", "model": "emb-deploy"})
    for b in ["ok", "cut"]:
        models.append({"name": "resp-" + b, "provider": "up-resp", "model": b, "capabilities": {"tools": True, "json": True}})
    models.append({"name": "claude-rich", "provider": "anth", "model": "rich", "capabilities": {"tools": True, "vision": True, "json": True}})
    models.append({"name": "up-window-8k", "provider": "up", "model": "window-8k", "context_window": 8192, "max_output_tokens": 512})
    models.append({"name": "up-summarize", "provider": "up", "model": "summarize", "prices": PRICED})
    # A cascade's rungs: the weak one echoes the prompt, the strong one ends with `#### 42`.
    models.append({"name": "cascade-weak", "provider": "up", "model": "ok", "prices": {"input": 1, "output": 1}})
    models.append({"name": "cascade-strong", "provider": "up", "model": "final-number", "prices": {"input": 10, "output": 30}})
    for b in ["rich", "parts", "empty-finish", "kimi-ids"]:
        models.append({"name": "up-" + b, "provider": "up", "model": b, "capabilities": {"tools": True}})
    return add_capabilities({
        "providers": {
            "mock": {"kind": "mock", "allow_panic": True},
            "up": {"kind": "openai", "base_url": base, "api_key_secret": "UPSTREAM_KEY", "timeout_ms": 10000},
            "up-rt": {"kind": "openai", "base_url": base, "api_key_secret": "UPSTREAM_KEY", "timeout_ms": 10000},
            "up-short": {"kind": "openai", "base_url": base, "api_key_secret": "UPSTREAM_KEY", "timeout_ms": 1000},
            "up-ttfb": {"kind": "openai", "base_url": base, "api_key_secret": "UPSTREAM_KEY", "ttfb_timeout_ms": 500},
            "up-idle": {"kind": "openai", "base_url": base, "api_key_secret": "UPSTREAM_KEY", "idle_timeout_ms": 60},
            "up-resp": {"kind": "openai", "base_url": base, "api_key_secret": "UPSTREAM_KEY", "responses_api": True},
            "anth": {"kind": "anthropic", "base_url": f"http://127.0.0.1:{upstream_port}", "api_key_secret": "UPSTREAM_KEY"},
            "gem": {"kind": "gemini", "base_url": f"http://127.0.0.1:{upstream_port}", "api_key_secret": "UPSTREAM_KEY"},
            "az": {"kind": "azure-openai", "base_url": f"http://127.0.0.1:{upstream_port}", "api_key_secret": "UPSTREAM_KEY",
                   "api_version": "2024-10-21"},
        },
        "models": models,
        "keys": [
            {"name": "dev", "sha256": DEV_KEY_SHA256, "tenant": "dev"},
            {"name": "web", "sha256": WEB_KEY_SHA256, "tenant": "web", "origins": [APP_ORIGIN]},
            {"name": "narrow", "sha256": "8d1862d93b507a1357476e928240ab16cddeeeb5f4b718f7cd1858047e68d7e5", "tenant": "other", "models": ["mock"]},
        ] + [{"name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "tenant": tenant, "limits": limits}
             for name, (key, tenant, limits) in SPEND_KEYS.items()],
        "cache": {"coalesce": True},
        "tenants": {"t-budget": {"limits": {"daily_usd": BUDGET_USD}}},
        # Small limits, so test_sessions.py reaches them in a few turns.
        "sessions": {"max_items": SESSION_MAX_ITEMS, "max_item_bytes": SESSION_MAX_ITEM_BYTES},
        "limits": {"max_body_bytes": 65536},
        "tokens": {"secret": "TOKEN_KEY", "max_ttl_seconds": 600},
        "health_checks": {"models": ["up-ok", "up-status-502", "mock"]},
        "breaker": {"consecutive_failures": 3, "cooldown_ms": 1500, "probes": 1, "min_calls": 1000},
        # Plain models: the default two retries, with short backoffs (retry-after still a floor).
        "retry": {"max_retries": 2, "base_ms": 20, "max_backoff_ms": 100},
        "routes": [
            {"name": "r-429", "steps": [{"model": "rt-flaky-429"}], "retry": {"max_retries": 2, "base_ms": 50}},
            {"name": "r-529", "steps": [{"model": "claude-status-529"}], "retry": {"max_retries": 0}},
            {"name": "r-fallback", "steps": [{"model": "rt-status-503"}, {"model": "claude-ok"}], "retry": {"max_retries": 2, "base_ms": 20, "max_backoff_ms": 100}},
            {"name": "r-401", "steps": [{"model": "up-echo-key-401"}, {"model": "gemini-ok"}], "retry": {"max_retries": 3}},
            {"name": "r-400", "steps": [{"model": "up-status-400"}, {"model": "claude-ok"}], "retry": {"max_retries": 3}},
            {"name": "r-timeout", "steps": [{"model": "up-timeout", "max_retries": 0}, {"model": "mock"}]},
            {"name": "r-down", "steps": [{"model": "up-status-500"}, {"model": "claude-status-500"}], "retry": {"max_retries": 0}},
            {"name": "r-breaker", "steps": [{"model": "up-status-504", "max_retries": 0}, {"model": "mock"}]},
            {"name": "r-similar", "steps": [{"model": "up-ok"}],
             "cache": {"enabled": True, "similar": {"embedding_model": "emb-bow", "threshold": 0.9}}},
            {"name": "r-stale", "steps": [{"model": "mock"}], "retry": {"max_retries": 0},
             "cache": {"ttl_seconds": 60, "max_stale_seconds": 600}},
            {"name": "r-cut", "steps": [{"model": "up-cut"}, {"model": "claude-ok"}], "retry": {"max_retries": 2}},
            {"name": "r-gem-key", "steps": [{"model": "gemini-key-invalid"}, {"model": "claude-ok"}], "retry": {"max_retries": 2}},
            {"name": "r-fit-summarize", "steps": [{"model": "up-window-8k"}],
             "context": {"fit": "summarize", "summarizer": "up-summarize", "keep_last_turns": 4}},
            {"name": "r-fit-truncate", "steps": [{"model": "up-window-8k"}], "context": {"fit": "truncate_middle"}},
            {"name": "r-fit-error", "steps": [{"model": "up-window-8k"}], "context": {"fit": "error"}},
            {"name": "r-fit-none", "steps": [{"model": "up-window-8k"}]},
            {"name": "r-cascade", "strategy": "cascade", "steps": [{"model": "cascade-weak"}, {"model": "cascade-strong"}],
             "gates": {"final_number": True}, "retry": {"max_retries": 0}},
            {"name": "r-cascade-weak", "strategy": "cascade", "steps": [{"model": "cascade-weak"}, {"model": "cascade-weak"}],
             "gates": {"final_number": True, "forbidden": ["sorry"]}, "retry": {"max_retries": 0}},
        ] + [{"name": fx_route(v, c), "steps": [{"model": fx_model(v, c)}], "retry": {"max_retries": 0}} for v, c in fx],
    })


def add_jobs_config(cfg):
    """Queued jobs (test_jobs.py): counting models limited to 4 at once, a route that passes a
    429 straight to the job, and short leases so a restarted gateway takes jobs back soon."""
    for name in ("job-slow", "job-slow-restart"):
        cfg["models"].append({"name": name, "provider": "up", "model": "slow-count-" + name})
    cfg["models"].append({"name": "job-once-429", "provider": "up", "model": "once-429"})
    cfg["routes"].append({"name": "r-job-429", "steps": [{"model": "job-once-429"}], "retry": {"max_retries": 0}})
    cfg["jobs"] = {"concurrency": {"job-slow": 4, "job-slow-restart": 4}, "default_concurrency": 2,
                   "lease_seconds": 10, "redeliver_seconds": 3}
    return cfg


def add_provider_quota_config(cfg, upstream_port):
    """A provider quota (test_jobs.py): two models on provider `up-pq`, each limited to 4 jobs at
    once, the provider to 2. Both call the same counting upstream model, so its peak in flight
    is the provider's."""
    cfg["providers"]["up-pq"] = {"kind": "openai", "base_url": f"http://127.0.0.1:{upstream_port}/v1",
                                 "api_key_secret": "UPSTREAM_KEY", "timeout_ms": 10000}
    for name in ("job-pq-a", "job-pq-b"):
        cfg["models"].append({"name": name, "provider": "up-pq", "model": "slow-count-pq"})
        cfg["jobs"]["concurrency"][name] = 4
    cfg["jobs"]["provider_concurrency"] = {"up-pq": 2}
    return cfg


RESPONSE_EVENTS_PATH = "/webhook/response-events"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_webhook_config(cfg, upstream_port):
    """Job webhooks (test_jobs.py) go to the mock upstream, signed with WEBHOOK_SECRET."""
    cfg["jobs"]["webhook_hosts"] = [f"127.0.0.1:{upstream_port}"]
    cfg["jobs"]["webhook_secret"] = "HOOK_KEY"
    # The dev tenant's background responses send OpenAI's response.* events here.
    cfg["tenants"]["dev"] = {"response_events_url": f"http://127.0.0.1:{upstream_port}{RESPONSE_EVENTS_PATH}"}
    return cfg


class Gateway:
    def __init__(self, tmp: Path, upstream_port: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "wrangler.log"
        self.state_dir = tmp / "state"
        config = add_webhook_config(add_jobs_config(add_gates_config(test_config(upstream_port))), upstream_port)
        config = json.dumps(add_provider_quota_config(config, upstream_port))
        cmd = [str(ROOT / "node_modules/.bin/wrangler"), "dev", "--ip", "127.0.0.1", "--port", str(self.port),
               "--persist-to", str(tmp / "state"), "--inspector-port", str(free_port()), "--show-interactive-dev-session=false", "--test-scheduled",
               "--var", f"SWITCHYARD_CONFIG:{config}", "--var", f"UPSTREAM_KEY:{CANARY_KEY}", "--var", "TOKEN_KEY:" + secrets.token_hex(16),
               "--var", f"SWITCHYARD_ADMIN_KEY:{ADMIN_KEY}", "--var", f"HOOK_KEY:{WEBHOOK_SECRET}"]
        env = dict(os.environ, WRANGLER_SEND_METRICS="false", NO_COLOR="1")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def wait_ready(self, timeout=420):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("wrangler dev exited:\n" + self.log_path.read_text())
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("wrangler dev did not become ready:\n" + self.log_path.read_text())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def upstream():
    u = Upstream().start()
    yield u
    u.stop()


@pytest.fixture(scope="session")
def gateway(upstream, tmp_path_factory):
    g = Gateway(tmp_path_factory.mktemp("gateway"), upstream.port)
    try:
        g.wait_ready()
        yield g
    finally:
        g.stop()


@pytest.fixture(scope="session")
def client(gateway):
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=DEV_KEY, max_retries=0, timeout=30)


@pytest.fixture(scope="session")
def claude(gateway):
    return anthropic.Anthropic(base_url=gateway.url, api_key=DEV_KEY, max_retries=0, timeout=30)


@pytest.fixture(scope="session")
def http(gateway):
    with httpx.Client(base_url=gateway.url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30) as c:
        yield c
