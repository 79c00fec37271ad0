"""Replays GSM8K through the running gateway (README, "Cascade"): starts the replay upstream
(`replay.py`) and the gateway (`wrangler dev`, with a config of its own), sends every prompt
for four strategies, grades each served answer by the CSV's correctness column of the model
that served it (`x-switchyard-model`), and prints accuracy, strong-call share and cost.

Strategies: always the weak model; always the strong one; the cascade (weak first, the
`final_number` gate, re-prompt, then the strong model as a trusted rung); a random router
sending exactly as many prompts to the strong model as the cascade did (seeded). Cost is the
sum of `x-switchyard-cost-usd`, at the list prices below. Standard library only.
"""

import argparse
import hashlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from replay import STRONG, WEAK, Replay, load

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-eval-" + secrets.token_hex(8)
# List prices, USD per million tokens: Mixtral 8x7B (Together, Anyscale), GPT-4 Turbo.
PRICES = {WEAK: {"input": 0.6, "output": 0.6}, STRONG: {"input": 10, "output": 30}}
# The budget for the cascade.
BUDGET = {"accuracy": 0.705, "strong_share": 0.15, "cost_share": 0.35}


def config(port):
    return {
        "providers": {"replay": {"kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "timeout_ms": 30000}},
        "models": [
            {"name": "weak", "provider": "replay", "model": WEAK, "prices": PRICES[WEAK]},
            {"name": "strong", "provider": "replay", "model": STRONG, "prices": PRICES[STRONG]},
        ],
        "routes": [{"name": "cascade", "strategy": "cascade", "gates": {"final_number": True},
                    "steps": [{"model": "weak"}, {"model": "strong", "gates": False}], "retry": {"max_retries": 0}}],
        "keys": [{"name": "eval", "sha256": hashlib.sha256(KEY.encode()).hexdigest()}],
        "retry": {"max_retries": 0},
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(cfg, state):
    port = free_port()
    cmd = [str(ROOT / "node_modules/.bin/wrangler"), "dev", "--ip", "127.0.0.1", "--port", str(port),
           "--persist-to", str(state), "--inspector-port", str(free_port()), "--show-interactive-dev-session=false",
           "--var", "SWITCHYARD_CONFIG:" + json.dumps(cfg)]
    log = open(state / "wrangler.log", "w")
    env = dict(os.environ, WRANGLER_SEND_METRICS="false", NO_COLOR="1")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 420
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("wrangler dev exited:\n" + (state / "wrangler.log").read_text())
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    proc.terminate()
    sys.exit("wrangler dev did not become ready:\n" + (state / "wrangler.log").read_text())


def ask(url, model, prompt):
    """(status, served upstream model, cost in USD, route reason) for one prompt."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST",
                                 headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            r.read()
            h = r.headers
            return r.status, h.get("x-switchyard-model"), float(h.get("x-switchyard-cost-usd", "0")), h.get("x-switchyard-route-reason")
    except urllib.error.HTTPError as e:
        e.read()
        return e.code, None, float(e.headers.get("x-switchyard-cost-usd", "0")), e.headers.get("x-switchyard-route-reason")


def run(url, prompts, models, concurrency):
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda pm: ask(url, pm[1], pm[0]), zip(prompts, models)))


def score(rows, prompts, results):
    n = len(prompts)
    right = sum(1 for p, (status, served, _, _) in zip(prompts, results) if status == 200 and rows[p].get(served) == "True")
    strong = sum(1 for (_, served, _, _) in results if served == STRONG)
    errors = sum(1 for (status, _, _, _) in results if status != 200)
    return {"accuracy": right / n, "strong_share": strong / n, "cost": sum(r[2] for r in results), "errors": errors, "strong": strong}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", default=str(ROOT.parent / "shared/eval/gsm8k_responses.csv"))
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--limit", type=int, default=0, help="only the first N prompts")
    args = ap.parse_args()
    if not Path(args.csv).is_file():
        sys.exit(f"no {args.csv}: the evaluation data lives beside the repository (../shared/eval/)")
    rows = load(args.csv)
    prompts = list(rows)[: args.limit or None]
    replay = Replay(rows).start()
    with tempfile.TemporaryDirectory(prefix="switchyard-eval-") as tmp:
        proc, url = start_gateway(config(replay.port), Path(tmp))
        try:
            t0 = time.time()
            results = {}
            for name, model in (("always weak", "weak"), ("always strong", "strong"), ("cascade", "cascade")):
                results[name] = run(url, prompts, [model] * len(prompts), args.concurrency)
            k = score(rows, prompts, results["cascade"])["strong"]
            chosen = set(random.Random(args.seed).sample(range(len(prompts)), k))
            router = ["strong" if i in chosen else "weak" for i in range(len(prompts))]
            results["random router"] = run(url, prompts, router, args.concurrency)
            elapsed = time.time() - t0
        finally:
            proc.terminate()
            proc.wait(10)
            replay.stop()
    table(rows, prompts, results, elapsed, replay.calls)


def table(rows, prompts, results, elapsed, calls):
    scores = {name: score(rows, prompts, r) for name, r in results.items()}
    base = scores["always strong"]["cost"] or 1
    print(f"GSM8K replay through the gateway: {len(prompts)} prompts a strategy, {elapsed:.0f} s in all")
    print(f"upstream calls: weak {calls[WEAK]}, strong {calls[STRONG]}\n")
    print("| strategy | accuracy | strong calls | cost (USD) | cost vs always strong | errors |")
    print("|---|---|---|---|---|---|")
    for name in ("always weak", "always strong", "random router", "cascade"):
        s = scores[name]
        print(f"| {name} | {s['accuracy']:.1%} | {s['strong_share']:.1%} | {s['cost']:.4f} | {s['cost'] / base:.1%} | {s['errors']} |")
    c = scores["cascade"]
    ok = c["accuracy"] >= BUDGET["accuracy"] and c["strong_share"] <= BUDGET["strong_share"] and c["cost"] / base <= BUDGET["cost_share"]
    print(f"\nbudget (accuracy >= {BUDGET['accuracy']:.1%}, strong calls <= {BUDGET['strong_share']:.0%}, "
          f"cost <= {BUDGET['cost_share']:.0%} of always strong): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
