"""Switchyard with its bindings on: the full pipeline and the cache, measured on workerd
through Miniflare (scripts/bench.d/pipeline.mjs), which provides the local KV, Durable
Object and Analytics Engine implementations plain workerd lacks. Called by run.py, in the
same run and against the same mock upstream as the rest; its rows join the main table.

Rows (all on Miniflare, each worker on a direct workerd socket, no node proxy):
  mf: js pass-through          the runtime's floor under this setup (compare with the plain
                               workerd row to see what Miniflare itself costs)
  mf: switchyard, no bindings  the plain workerd Switchyard row's config, nothing bound
  mf: full pipeline, miss      a key with limits (rpm, tpm, concurrency, daily budget) and a
                               priced model; every request: auth, admission in the tenant's
                               Durable Object, a KV cache lookup that misses, the upstream
                               call, then (after the response) the Analytics Engine data
                               point and the settlement in the tenant's object
  mf: full pipeline, hit       the same key, one request repeated (temperature 0): answered
                               from KV after admission, settled as a hit
  mf: cache hit, key without    the plain run's config (no limits, so no admission) with every
      limits                   binding: auth, the KV read, the replay; the settlement in the
                               tenant's object and the data point come after the response
  mf: pipeline+coalesce, miss  as the miss row with `cache.coalesce`: each miss also joins
                               and releases the cache key's Coalescer Durable Object

Misses: each request has a prompt of its own (oha picks request bodies at random from a file
of distinct ones) with temperature 0, so it is cacheable and read from KV, and carries
`Cache-Control: no-store`, so nothing is written: every lookup misses, however often a body
repeats, and KV does not grow during the run. (The KV write a real cacheable miss makes
after its response is therefore not in these rows.)"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import run as bench

HERE = Path(__file__).resolve().parent
PIPELINE = HERE / "pipeline.mjs"
CHAT = "/v1/chat/completions"
PROMPTS = 50_000
HIT_BODY = json.dumps({"model": "bench", "temperature": 0, "messages": [{"role": "user", "content": "Say something short."}]})
HIT_STREAM = json.dumps({"model": "bench", "temperature": 0, "stream": True,
                         "messages": [{"role": "user", "content": "Say something short."}]}, separators=(",", ":"))
NO_STORE = ("cache-control: no-store",)
# Limits every request passes: admission still runs and checks all of them.
LIMITS = {"requests_per_minute": 1_000_000_000, "tokens_per_minute": 1_000_000_000, "concurrent_requests": 100_000, "daily_usd": 1_000_000}
PRICES = {"input": 0.15, "output": 0.6}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pids):
    """User plus system CPU seconds used so far by `pids` (children already reaped included)."""
    total = 0
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in f[11:15])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def workerd_pid(node_pid):
    """The workerd process Miniflare started under `node_pid`."""
    for p in bench.tree(node_pid):
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == "workerd":
                return p
        except OSError:
            pass
    raise RuntimeError("no workerd process under Miniflare")


def oha(url, extra, body=None, lines=None, headers=(), duration=None):
    """One oha run; the body is `body`, or for each request a line picked at random from the
    file `lines`."""
    hdrs = [a for h in headers for a in ("-H", h)]
    src = ["-Z", str(lines)] if lines else ["-d", body]
    cmd = ["oha", "-z", duration or bench.DURATION, "--no-tui", "--output-format", "json", "-m", "POST",
           "-H", "content-type: application/json", "-H", f"authorization: Bearer {bench.DEV_KEY}", *hdrs, *src, *extra, url]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    codes = out.get("statusCodeDistribution", {})
    total = sum(codes.values())
    return {"rps": out["summary"]["requestsPerSec"], "p50_ms": out["latencyPercentiles"]["p50"] * 1000,
            "p99_ms": out["latencyPercentiles"]["p99"] * 1000, "ok": codes.get("200", 0), "ok_ratio": codes.get("200", 0) / max(1, total)}


def stream_timing(url, headers, body):
    """run.py's stream timing (mean and median time to the first byte and first content chunk
    over TTFC_RUNS streams after one warm-up), with `body(i)` as the i-th request's body.
    run.py's reader sends its module's STREAM_BODY, swapped here for each stream."""
    saved = bench.STREAM_BODY
    try:
        runs = []
        for i in range(bench.TTFC_RUNS + 1):
            bench.STREAM_BODY = body(i)
            runs.append(bench.stream_once(url, headers))
    finally:
        bench.STREAM_BODY = saved
    n = bench.TTFC_RUNS
    ttfb = sorted(r[0] for r in runs[1:])
    ttfc = sorted(r[1] for r in runs[1:])
    return {"ttfb_ms": sum(ttfb) / n, "ttfc_ms": sum(ttfc) / n, "ttfc_median_ms": ttfc[n // 2], "ttfc_runs": n}


def measure(name, url, node_pid, body=None, lines=None, headers=(), stream=None):
    """run.py's figures for one target (p50/p99 at 100 req/s open loop, most req/s and p99 at
    50 connections, RSS, time to first content chunk), plus the CPU the Miniflare node process
    and workerd used during the 50-connection run: node's share shows whether requests pass
    through it. `ok_count` counts the 200s answered to the load generator and the streams, for the
    ledger check."""
    wd = workerd_pid(node_pid)
    body = body if body or lines else bench.BODY
    warm = oha(url, ["-c", "10"], body, lines, headers, duration="2s")
    idle = bench.rss_kb(wd)
    fixed = oha(url, ["-q", "100", "--latency-correction"], body, lines, headers)
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], bench.rss_kb(wd))
            time.sleep(0.2)

    t = threading.Thread(target=sample)
    t.start()
    node_before, wd_before = cpu_s([node_pid]), cpu_s([wd])
    try:
        loaded = oha(url, ["-c", "50"], body, lines, headers)
    finally:
        stop.set()
        t.join()
    node_cpu, wd_cpu = cpu_s([node_pid]) - node_before, cpu_s([wd]) - wd_before
    row = {"target": name, "p50_ms_at_100rps": fixed["p50_ms"], "p99_ms_at_100rps": fixed["p99_ms"],
           "max_rps_c50": loaded["rps"], "p99_ms_c50": loaded["p99_ms"], "ok_ratio": min(fixed["ok_ratio"], loaded["ok_ratio"]),
           "rss_mb_idle": idle / 1024, "rss_mb_under_load": peak[0] / 1024, "runtime": "miniflare",
           "node_cpu_s_c50": node_cpu, "workerd_cpu_s_c50": wd_cpu, "ok_count": warm["ok"] + fixed["ok"] + loaded["ok"]}
    try:
        row.update(stream_timing(url, headers, stream or (lambda i: bench.STREAM_BODY)))
        row["ok_count"] += bench.TTFC_RUNS + 1
    except (OSError, RuntimeError, ValueError) as e:
        row.update({"ttfc_ms": None, "stream_error": str(e)[:200]})
    return row


# 200s answered to the requests made here outside the load runs (readiness and checks), for the
# ledger check.
answered = [0]


def call(url, body, headers=(), method="POST"):
    """One request: (status, headers, body)."""
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers={
        "content-type": "application/json", "authorization": f"Bearer {bench.DEV_KEY}", **dict(h.split(": ", 1) for h in headers)})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            answered[0] += method == "POST" and r.status == 200
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def expect(what, ok, detail):
    if not ok:
        raise RuntimeError(f"{what}: {detail}")


def check_miss(url):
    """A miss goes through every stage: admission (rate headers), the cache read (MISS, not
    BYPASS), the upstream, and a priced answer."""
    body = json.dumps({"model": "bench", "temperature": 0, "messages": [{"role": "user", "content": f"check {random.random()}"}]})
    status, h, text = call(url, body, NO_STORE)
    expect("full pipeline", status == 200 and b"quick brown fox" in text, f"HTTP {status}: {text[:200]!r}")
    expect("full pipeline", h.get("x-switchyard-cache") == "MISS", f"x-switchyard-cache: {h.get('x-switchyard-cache')}")
    expect("full pipeline", h.get("x-ratelimit-limit-requests"), "no rate-limit headers: admission did not run")
    expect("full pipeline", float(h.get("x-switchyard-cost-usd") or 0) > 0, "no cost on the answer")


def prime_hit(url):
    """Store HIT_BODY's answer and wait until KV serves it, as JSON and as a stream."""
    deadline = time.time() + 20
    while time.time() < deadline:
        status, h, text = call(url, HIT_BODY)
        expect("cache hit", status == 200, f"HTTP {status}: {text[:200]!r}")
        if h.get("x-switchyard-cache") == "HIT":
            status, h, text = call(url, HIT_STREAM)
            expect("cache hit", status == 200 and h.get("x-switchyard-cache") == "HIT" and b"quick" in text,
                   f"a streamed repeat was not a hit: HTTP {status}, {h.get('x-switchyard-cache')}")
            return
        time.sleep(0.2)
    raise RuntimeError("cache hit: the answer was never served from KV")


def usage_calls(base):
    """Calls and cache hits in the tenant's ledger (GET /v1/usage)."""
    status, _, text = call(base + "/v1/usage", None, method="GET")
    expect("usage", status == 200, f"HTTP {status}: {text[:200]!r}")
    total = json.loads(text)["total"]
    return total["calls"], total["cache_hits"]


def wait_ready(url, proc, log, timeout=60):
    """Wait until `url` answers a chat request with 200."""
    deadline = time.time() + timeout
    last = "no answer"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {bench.tail(log)}")
        try:
            status, _, text = call(url, bench.BODY)
            if status == 200 and b"quick brown fox" in text:
                return
            last = f"HTTP {status}: {text[:200]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.5)
    raise RuntimeError(f"not ready after {timeout}s ({last}): {bench.tail(log)}")


def start(tmp, name, spec):
    """Start pipeline.mjs for `spec`; (process, base URL, Miniflare version)."""
    path = tmp / f"mf-{name}.json"
    path.write_text(json.dumps(spec))
    log = tmp / f"mf-{name}.log"
    proc = subprocess.Popen(["node", str(PIPELINE), str(path)], stdout=subprocess.PIPE, stderr=open(log, "w"),
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=15)
        raise RuntimeError(f"Miniflare did not start (exit {proc.returncode}): {bench.tail(log)}")
    ready = json.loads(line)
    return proc, ready["url"].rstrip("/"), ready["miniflare"]


def miss_stream(tag):
    """Streamed misses, each with a prompt of its own (a repeat would be a hit). The reader
    stops at the first content chunk and closes the connection; each such request still
    settles (the ledger check counts them)."""
    return lambda i: json.dumps({"model": "bench", "temperature": 0, "stream": True, "messages": [
        {"role": "user", "content": f"Say something short, streamed. {tag}-s{i}"}]}, separators=(",", ":"))


def full_config(base, coalesce=False):
    """The plain run's config with a priced model (bounded output) and limits on the key."""
    cfg = json.loads(json.dumps(base))
    for m in cfg["models"]:
        if m["name"] == "bench":
            m.update(prices=PRICES, max_output_tokens=256)
    for k in cfg["keys"]:
        k["limits"] = LIMITS
    if coalesce:
        cfg["cache"] = {"coalesce": True}
    return cfg


def rows(tmp, upstream_url, bundle):
    """Every Miniflare row, or one row saying why they could not be measured."""
    base = json.loads((tmp / "config.json").read_text())
    lines = tmp / "prompts.jsonl"
    tag = f"{time.time_ns():x}"
    with open(lines, "w") as f:
        for i in range(PROMPTS):
            f.write(json.dumps({"model": "bench", "temperature": 0,
                                "messages": [{"role": "user", "content": f"Say something short. {tag}-{i}"}]}) + "\n")
    bundle_dir = str(bundle)
    targets = [
        ("mf: js pass-through", "passthrough", {"worker": "passthrough", "passthrough": str(HERE / "passthrough.js"),
                                                "bindings": {"UPSTREAM": upstream_url}}, None),
        ("mf: switchyard, no bindings", "bare", {"worker": "switchyard", "bundle": bundle_dir,
                                                 "bindings": {"SWITCHYARD_CONFIG": json.dumps(base)}}, None),
        ("mf: full pipeline, miss", "full", {"worker": "switchyard", "bundle": bundle_dir, "bound": True,
                                             "bindings": {"SWITCHYARD_CONFIG": json.dumps(full_config(base))}}, "full"),
        ("mf: cache hit, key without limits", "hit", {"worker": "switchyard", "bundle": bundle_dir, "bound": True,
                                                     "bindings": {"SWITCHYARD_CONFIG": json.dumps(base)}}, "hit"),
        ("mf: pipeline+coalesce, miss", "coalesce", {"worker": "switchyard", "bundle": bundle_dir, "bound": True,
                                                     "bindings": {"SWITCHYARD_CONFIG": json.dumps(full_config(base, True))}}, "miss"),
    ]
    out = []
    version = None
    # workerd serves everything on one thread, and Durable Object storage commits (fsync)
    # block it: on a disk they stall every request, which a deployment's storage does not.
    # State goes to memory (tmpfs) when there is one.
    shm = Path("/dev/shm")
    state_root = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp
    for label, name, spec, mode in targets:
        state = Path(tempfile.mkdtemp(prefix=f"switchyard-bench-{name}-", dir=state_root))
        spec["persist"] = str(state)
        print(f"bench: measuring {label}", file=sys.stderr)
        proc = None
        try:
            proc, url, version = start(tmp, name, spec)
            answered[0] = 0
            path = "/" if name == "passthrough" else CHAT
            wait_ready(url + path, proc, tmp / f"mf-{name}.log")
            if mode is None:
                out.append(measure(label, url + path, proc.pid))
                continue
            if mode == "hit":
                prime_hit(url + CHAT)
                out.append(measure(label, url + CHAT, proc.pid, body=HIT_BODY, stream=lambda i: HIT_STREAM))
                continue
            check_miss(url + CHAT)
            miss = measure(label, url + CHAT, proc.pid, lines=lines, headers=NO_STORE, stream=miss_stream(tag))
            out.append(miss)
            if mode == "full":
                print("bench: measuring mf: full pipeline, hit", file=sys.stderr)
                prime_hit(url + CHAT)
                hit = measure("mf: full pipeline, hit", url + CHAT, proc.pid, body=HIT_BODY, stream=lambda i: HIT_STREAM)
                out.append(hit)
                # Settlement runs after each response (waitUntil): give the last ones a moment.
                time.sleep(2)
                calls, hits = usage_calls(url)
                sent = miss["ok_count"] + hit["ok_count"] + answered[0]
                miss["ledger"] = hit["ledger"] = {"calls": calls, "cache_hits": hits, "answered_200": sent}
        except Exception as e:
            print(f"bench: {label} unavailable: {e}", file=sys.stderr)
            labels = [label] + (["mf: full pipeline, hit"] if mode == "full" else [])
            out += [{"target": t, "unavailable": str(e)[:300]} for t in labels if not any(r["target"] == t for r in out)]
        finally:
            if proc:
                bench.stop(proc)
            shutil.rmtree(state, ignore_errors=True)
    for r in out:
        r["miniflare"] = version
        r["state_on"] = "tmpfs" if state_root == shm else "disk"
    return out


def notes(rows):
    """Lines for under the table: the Miniflare rows against Miniflare's own JS floor, and
    what node did meanwhile."""
    mf = [r for r in rows if r.get("runtime") == "miniflare" and "unavailable" not in r]
    floor = next((r for r in mf if r["target"] == "mf: js pass-through"), None)
    plain = next((r for r in rows if r["target"].startswith("js pass-through") and "unavailable" not in r), None)
    if not floor:
        return ""
    out = [f"\nmf: rows on workerd through Miniflare {floor.get('miniflare')} (local KV, Durable Objects, Analytics Engine),"
           " each worker on its own workerd socket. Against mf's JS pass-through:"]
    head = f"  {'target':34} {'+p50@100':>9} {'+p99@100':>9} {'max rps':>8} {'×rps':>6} {'node cpu':>9} {'workerd cpu':>12}"
    out += [head, "  " + "-" * (len(head) - 2)]
    for r in mf:
        out.append(f"  {r['target']:34} {r['p50_ms_at_100rps'] - floor['p50_ms_at_100rps']:>9.2f}"
                   f" {r['p99_ms_at_100rps'] - floor['p99_ms_at_100rps']:>9.2f} {r['max_rps_c50']:>8.0f}"
                   f" {r['max_rps_c50'] / floor['max_rps_c50']:>6.3f} {r['node_cpu_s_c50']:>8.2f}s {r['workerd_cpu_s_c50']:>11.2f}s")
    if plain:
        out.append(f"  Miniflare's own cost (its JS pass-through against plain workerd's): p50 {floor['p50_ms_at_100rps'] - plain['p50_ms_at_100rps']:+.2f} ms,"
                   f" p99 {floor['p99_ms_at_100rps'] - plain['p99_ms_at_100rps']:+.2f} ms, max rps ×{floor['max_rps_c50'] / plain['max_rps_c50']:.3f}.")
    ledger = next((r["ledger"] for r in mf if "ledger" in r), None)
    if ledger:
        out.append(f"  Ledger after the miss and hit rows: {ledger['calls']} calls settled ({ledger['cache_hits']} as cache hits)"
                   f" for {ledger['answered_200']} 200s counted by the client, the streams its reader cut after the first content chunk"
                   " included (requests cut at the end of a timed run may settle uncounted).")
    node = sum(r["node_cpu_s_c50"] for r in mf)
    workerd = sum(r["workerd_cpu_s_c50"] for r in mf)
    verdict = "requests do not pass through node" if node < 0.05 * workerd else "node is busy: something passes through it"
    out.append(f"  node cpu / workerd cpu: CPU seconds of the Miniflare node process and of workerd during each 50-connection run"
               f" ({node:.2f} s against {workerd:.2f} s in all: {verdict}). Local KV and Durable Objects run in the same workerd"
               " process, on its one thread: these rows measure the pipeline's work, not the network round trips to KV and Durable"
               f" Objects a deployment pays. Their state is on {floor.get('state_on')}.")
    return "\n".join(out)
