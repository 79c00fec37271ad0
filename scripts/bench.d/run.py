"""Benchmark Switchyard on plain workerd against direct calls, a bare JavaScript
pass-through worker (the runtime's floor) and two other gateways (Portkey's on node, LiteLLM's
proxy on Python), all on 127.0.0.1 in front of the same mock upstream. Prints one table and
writes bench-results/results.json. Run through scripts/bench, which builds and installs first.

Per target: p50/p99 at a fixed 100 requests/s (open loop: latency counted from when each
request was due; the plain workerd targets measured in interleaved rounds, see
`fixed_rate`), the most requests/s with 50 connections (and p99 there), the CPU time its
process tree spent per request during that run, the time to the first content chunk of a
stream (mean of 20), and resident memory of its process tree. workerd runs a worker's
requests on one thread, so at saturation its CPU per request sets its most requests/s; it
is also the figure least moved by other work on the machine."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pipeline

ROOT = Path(__file__).resolve().parents[2]
WORKERD = ROOT / "node_modules/.bin/workerd"
PEERS = Path(__file__).resolve().parent / "peers"
PORTKEY = PEERS / "node_modules/@portkey-ai/gateway"
LITELLM = ROOT / "build/bench-venv/bin/litellm"
DURATION = os.environ.get("BENCH_DURATION", "10s")
TTFC_RUNS = 20
ROUNDS = 5
DEV_KEY = "sk-switchyard-dev"
BODY = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "Say something short."}]})
STREAM_BODY = json.dumps({"model": "bench", "stream": True, "messages": [{"role": "user", "content": "Say something short."}]}, separators=(",", ":"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def capnp(modules, port, bindings):
    mods = ",\n    ".join(f'(name = "{n}", {kind} = embed "{p}")' for n, kind, p in modules)
    binds = ",\n    ".join(f'(name = "{n}", text = embed "{p}")' for n, p in bindings)
    return f'''using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .w),
    (name = "net", network = (allow = ["local", "private", "public"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "main")],
);
const w :Workerd.Worker = (
  modules = [
    {mods}
  ],
  bindings = [
    {binds}
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "net",
);
'''


def start_workerd(tmp, name, modules, bindings):
    """capnp embeds paths relative to the config file: every file is copied beside it."""
    for _, _, src in modules:
        if Path(src).parent != tmp:
            shutil.copy(src, tmp / Path(src).name)
    modules = [(n, kind, Path(src).name) for n, kind, src in modules]
    bindings = [(n, Path(src).name) for n, src in bindings]
    port = free_port()
    path = tmp / f"{name}.capnp"
    path.write_text(capnp(modules, port, bindings))
    proc = subprocess.Popen([str(WORKERD), "serve", str(path)], stdout=subprocess.DEVNULL, stderr=open(tmp / f"{name}.log", "w"))
    wait_port(port)
    return proc, port


def oha(url, body, extra, headers=(), duration=None):
    hdrs = [a for h in headers for a in ("-H", h)]
    cmd = ["oha", "-z", duration or DURATION, "--no-tui", "--output-format", "json", "-m", "POST", "-H", "content-type: application/json",
           "-H", f"authorization: Bearer {DEV_KEY}", *hdrs, "-d", body, *extra, url]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    codes = out.get("statusCodeDistribution", {})
    ok = codes.get("200", 0)
    return {"rps": out["summary"]["requestsPerSec"], "p50_ms": out["latencyPercentiles"]["p50"] * 1000,
            "p99_ms": out["latencyPercentiles"]["p99"] * 1000, "ok_ratio": ok / max(1, sum(codes.values()))}


def tree(pid):
    """`pid` and all its descendants, from /proc."""
    children = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_s(pid):
    """User and system CPU seconds of `pid`'s whole process tree, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def rss_kb(pid):
    """Resident memory of `pid`'s whole process tree (VmRSS summed), in KiB."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def has_content(line):
    """True for an SSE `data:` line whose OpenAI chunk carries non-empty delta content."""
    if not line.startswith(b"data:"):
        return False
    try:
        chunk = json.loads(line[5:])
    except ValueError:
        return False
    return any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or [] if isinstance(c, dict))


def stream_once(url, headers):
    """One streamed request on a fresh connection: (ms to the first response byte, ms to the
    first `data:` line carrying delta content). Reads the socket as bytes arrive, undoing
    chunked transfer coding itself, so nothing waits for a buffer to fill."""
    u = urllib.parse.urlsplit(url)
    body = STREAM_BODY.encode()
    head = [f"POST {u.path or '/'} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Content-Type: application/json",
            f"Authorization: Bearer {DEV_KEY}", *headers, f"Content-Length: {len(body)}", "Connection: close"]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        s.sendall(request)
        raw, payload, first_byte, chunked, in_head, need = b"", b"", None, False, True, None
        while True:
            data = s.recv(65536)
            if not data:
                raise RuntimeError("stream ended before any content")
            first_byte = first_byte or time.perf_counter()
            raw += data
            if in_head:
                if b"\r\n\r\n" not in raw:
                    continue
                status_head, raw = raw.split(b"\r\n\r\n", 1)
                status = status_head.split(b"\r\n", 1)[0]
                if b" 200" not in status:
                    raise RuntimeError(f"stream answered {status.decode(errors='replace')}")
                chunked = b"transfer-encoding: chunked" in status_head.lower()
                in_head = False
            if chunked:
                while True:
                    if need is None:
                        if b"\r\n" not in raw:
                            break
                        size, raw = raw.split(b"\r\n", 1)
                        need = int(size.split(b";")[0], 16)
                        if need == 0:
                            raise RuntimeError("stream ended before any content")
                    if len(raw) < need + 2:
                        break
                    payload += raw[:need]
                    raw, need = raw[need + 2:], None
            else:
                payload, raw = payload + raw, b""
            *lines, payload = payload.split(b"\n")
            if any(has_content(line.strip()) for line in lines):
                t = time.perf_counter()
                return (first_byte - t0) * 1000, (t - t0) * 1000


def stream_timing(url, headers=(), n=TTFC_RUNS):
    """Mean and median time to the first byte and to the first content chunk over `n` streams
    (after one unmeasured warm-up)."""
    stream_once(url, headers)
    runs = [stream_once(url, headers) for _ in range(n)]
    ttfb = sorted(r[0] for r in runs)
    ttfc = sorted(r[1] for r in runs)
    return {"ttfb_ms": sum(ttfb) / n, "ttfc_ms": sum(ttfc) / n, "ttfc_median_ms": ttfc[n // 2], "ttfc_runs": n}


def fixed_rate(targets, rate=100, rounds=ROUNDS):
    """p50 and p99 at `rate` requests/s (open loop) for several targets `(name, url, body)`,
    measured in interleaved rounds (each target in turn, `rounds` times, DURATION in all per
    target): the machine's drift over a run then falls on every target alike, and their
    differences are what it leaves alone. Each figure is the median of its rounds'. Each
    round starts with a second at the same rate, not recorded: the first requests to a worker
    left idle while the others were measured sometimes meet a pause (seen: p99 63 ms where the
    next round's was 3), which steady traffic does not."""
    seconds = max(1, round(float(DURATION.rstrip("s")) / rounds))
    runs = {name: [] for name, _, _ in targets}
    for _ in range(rounds):
        for name, url, body in targets:
            oha(url, body, ["-q", str(rate)], duration="1s")
            runs[name].append(oha(url, body, ["-q", str(rate), "--latency-correction"], duration=f"{seconds}s"))
    med = lambda xs: sorted(xs)[len(xs) // 2]
    return {name: {"p50_ms": med([r["p50_ms"] for r in rs]), "p99_ms": med([r["p99_ms"] for r in rs]),
                   "ok_ratio": min(r["ok_ratio"] for r in rs), "rounds": rounds} for name, rs in runs.items()}


def measure(name, url, pid=None, body=BODY, headers=(), streams=True, fixed=None):
    """One target's figures. `fixed`: its p50/p99 at 100 requests/s from `fixed_rate`, measured
    beside other targets; without it, measured here on its own."""
    oha(url, body, ["-c", "10"], headers, duration="2s")  # warm-up, not recorded
    idle = rss_kb(pid) if pid else None
    fixed = fixed or oha(url, body, ["-q", "100", "--latency-correction"], headers)
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            if pid:
                peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample)
    t.start()
    cpu0, t0 = (cpu_s(pid), time.time()) if pid else (0.0, 0.0)
    try:
        loaded = oha(url, body, ["-c", "50"], headers)
    finally:
        stop.set()
        t.join()
    served = loaded["rps"] * (time.time() - t0)
    cpu_us = (cpu_s(pid) - cpu0) / served * 1e6 if pid and served else None
    row = {"target": name, "p50_ms_at_100rps": fixed["p50_ms"], "p99_ms_at_100rps": fixed["p99_ms"],
           "max_rps_c50": loaded["rps"], "p99_ms_c50": loaded["p99_ms"], "ok_ratio": min(fixed["ok_ratio"], loaded["ok_ratio"]),
           "rss_mb_idle": idle / 1024 if pid else None, "rss_mb_under_load": peak[0] / 1024 if pid else None,
           "cpu_us_per_request_c50": cpu_us}
    if not streams:
        return row
    try:
        row.update(stream_timing(url, headers))
    except (OSError, RuntimeError, ValueError) as e:
        row.update({"ttfc_ms": None, "stream_error": str(e)[:200]})
    return row


def ready(url, headers, proc, timeout, log):
    """Wait until `url` answers a chat request with 200, or fail with the log's tail."""
    deadline = time.time() + timeout
    last = "no answer"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {tail(log)}")
        req = urllib.request.Request(url, data=BODY.encode(), method="POST", headers={
            "content-type": "application/json", "authorization": f"Bearer {DEV_KEY}", **dict(h.split(": ", 1) for h in headers)})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                if r.status == 200 and b"quick brown fox" in r.read():
                    return
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}: {e.read()[:200]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.5)
    raise RuntimeError(f"not ready after {timeout}s ({last}): {tail(log)}")


def tail(log, n=400):
    try:
        return " ".join(Path(log).read_text(errors="replace")[-n:].split())
    except OSError:
        return ""


def stop(proc):
    """End a process started here; one started in its own session goes with all it spawned."""
    if proc.poll() is not None:
        return
    try:
        own_group = os.getpgid(proc.pid) == proc.pid
        kill = (lambda sig: os.killpg(proc.pid, sig)) if own_group else proc.send_signal
        kill(signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill(signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def portkey_version():
    return json.loads((PORTKEY / "package.json").read_text())["version"]


def start_portkey(tmp, up_port):
    """Portkey's gateway from npm, under node: OpenAI provider with the mock as custom host."""
    if not (PORTKEY / "build/start-server.js").exists():
        raise RuntimeError("not installed (scripts/bench installs it into scripts/bench.d/peers)")
    port = free_port()
    log = tmp / "portkey.log"
    proc = subprocess.Popen(["node", str(PORTKEY / "build/start-server.js"), f"--port={port}", "--headless"], cwd=tmp,
                            env=dict(os.environ, NODE_ENV="production"), stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    headers = ("x-portkey-provider: openai", f"x-portkey-custom-host: http://127.0.0.1:{up_port}/v1")
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        ready(url, headers, proc, 60, log)
    except Exception:
        stop(proc)
        raise
    return proc, url, headers


def litellm_version():
    py = LITELLM.parent / "python"
    return subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def start_litellm(tmp, up_port):
    """LiteLLM's proxy from PyPI, 2 workers, no database. It refuses to start without a master
    key, so the key every target is called with is its master key."""
    if not LITELLM.exists():
        raise RuntimeError("not installed (scripts/bench installs it into build/bench-venv)")
    port = free_port()
    cfg = tmp / "litellm.yaml"
    cfg.write_text(f"""model_list:
  - model_name: bench
    litellm_params:
      model: openai/bench-model
      api_base: http://127.0.0.1:{up_port}/v1
      api_key: sk-upstream
general_settings:
  master_key: {DEV_KEY}
""")
    log = tmp / "litellm.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "DATABASE_URL", "OPENAI_"))}
    env.update(LITELLM_LOG="ERROR", NO_DOCS="True")
    proc = subprocess.Popen([str(LITELLM), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "2"],
                            cwd=tmp, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        ready(url, (), proc, 240, log)
    except Exception:
        stop(proc)
        raise
    return proc, url, ()


def peer(name, how, start, version, tmp, up_port):
    """Measure one other gateway; if it cannot be installed, started or driven, say so."""
    try:
        ver = version()
    except Exception:
        ver = None
    label = f"{name} {ver}{how}" if ver else f"{name}{how}"
    print(f"bench: measuring {label}", file=sys.stderr)
    proc = None
    try:
        proc, url, headers = start(tmp, up_port)
        row = measure(label, url, proc.pid, headers=headers)
    except Exception as e:
        print(f"bench: {label} unavailable: {e}", file=sys.stderr)
        return {"target": label, "unavailable": str(e)[:300]}
    finally:
        if proc:
            stop(proc)
    row["version"] = ver
    return row


def main():
    bundle = ROOT / "build/bundle"
    tmp = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
    procs = []
    try:
        up_port = free_port()
        procs.append(subprocess.Popen(["node", str(Path(__file__).parent / "upstream.mjs"), str(up_port)], env=dict(os.environ, CHUNK_MS="20")))
        wait_port(up_port)
        upstream_url = f"http://127.0.0.1:{up_port}/v1/chat/completions"
        (tmp / "upstream.txt").write_text(upstream_url)
        shutil.copy(Path(__file__).parent / "passthrough.js", tmp / "passthrough.js")
        js, js_port = start_workerd(tmp, "js-floor", [("passthrough.js", "esModule", str(tmp / "passthrough.js"))], [("UPSTREAM", str(tmp / "upstream.txt"))])
        procs.append(js)
        shutil.copy(Path(__file__).parent / "constant.js", tmp / "constant.js")
        const, const_port = start_workerd(tmp, "js-constant", [("constant.js", "esModule", str(tmp / "constant.js"))], [])
        procs.append(const)
        shutil.copy(Path(__file__).parent / "buffered.js", tmp / "buffered.js")
        buf, buf_port = start_workerd(tmp, "js-buffered", [("buffered.js", "esModule", str(tmp / "buffered.js"))], [("UPSTREAM", str(tmp / "upstream.txt"))])
        procs.append(buf)
        config = {"providers": {"up": {"kind": "openai", "base_url": f"http://127.0.0.1:{up_port}/v1"}, "mock": {"kind": "mock"}},
                  "models": [{"name": "bench", "provider": "up", "model": "bench-model"}, {"name": "bench-mock", "provider": "mock", "model": "mock-1"}],
                  "keys": [{"name": "bench", "sha256": "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3", "tenant": "bench"}]}
        (tmp / "config.json").write_text(json.dumps(config))
        wasm = next(bundle.glob("*.wasm"))
        modules = [("entry.js", "esModule", str(bundle / "entry.js")), (wasm.name, "wasm", str(wasm))]
        sy, sy_port = start_workerd(tmp, "switchyard", modules, [("SWITCHYARD_CONFIG", str(tmp / "config.json"))])
        procs.append(sy)
        sy_url = f"http://127.0.0.1:{sy_port}/v1/chat/completions"
        mock_body = BODY.replace('"bench"', '"bench-mock"')
        plain = [("direct (the limit)", upstream_url, BODY, None, True),
                 ("js pass-through (runtime floor)", f"http://127.0.0.1:{js_port}/", BODY, js.pid, True),
                 ("js constant answer (no upstream)", f"http://127.0.0.1:{const_port}/", BODY, const.pid, False),
                 ("js, i/o of switchyard's driver", f"http://127.0.0.1:{buf_port}/", BODY, buf.pid, False),
                 ("switchyard → upstream", sy_url, BODY, sy.pid, True),
                 ("switchyard built-in mock", sy_url, mock_body, sy.pid, True)]
        for _, url, body, _, _ in plain:
            oha(url, body, ["-c", "10"], duration="2s")  # warm every target before the interleaved rounds
        print("bench: p50/p99 at 100 req/s, plain workerd targets in interleaved rounds", file=sys.stderr)
        lat = fixed_rate([(name, url, body) for name, url, body, _, _ in plain])
        rows = [measure(name, url, pid, body=body, streams=streams, fixed=lat[name]) for name, url, body, pid, streams in plain]
        for p in procs[1:]:
            stop(p)  # workerd idles while the other gateways are measured
        rows.extend(pipeline.rows(tmp, upstream_url, bundle))  # bindings on, through Miniflare
        rows.append(peer("portkey", " (node)", start_portkey, portkey_version, tmp, up_port))
        rows.append(peer("litellm", " (2 workers)", start_litellm, litellm_version, tmp, up_port))
    finally:
        for p in procs:
            stop(p)
    base = rows[0]
    for r in rows:
        if "unavailable" in r:
            continue
        r["added_p50_ms"] = r["p50_ms_at_100rps"] - base["p50_ms_at_100rps"]
        r["added_p99_ms"] = r["p99_ms_at_100rps"] - base["p99_ms_at_100rps"]
        r["p50_vs_direct"] = r["p50_ms_at_100rps"] / base["p50_ms_at_100rps"]
        r["p99_vs_direct"] = r["p99_ms_at_100rps"] / base["p99_ms_at_100rps"]
        r["rps_vs_direct"] = r["max_rps_c50"] / base["max_rps_c50"]
        if r.get("ttfc_ms") is not None and base.get("ttfc_ms"):
            r["added_ttfc_ms"] = r["ttfc_ms"] - base["ttfc_ms"]
            r["ttfc_vs_direct"] = r["ttfc_ms"] / base["ttfc_ms"]
    wasm_bytes = wasm.stat().st_size
    import gzip
    core_file = ROOT / "bench-results/core.json"
    core = json.loads(core_file.read_text()) if core_file.exists() else None
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "duration": DURATION, "rows": rows,
              "wasm_bytes": wasm_bytes, "wasm_gzip_bytes": len(gzip.compress(wasm.read_bytes(), 9)), "core": core}
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    print(table(rows))
    print(pipeline.notes(rows))
    print(f"\nwasm: {wasm_bytes / 1024:.0f} KiB raw, {result['wasm_gzip_bytes'] / 1024:.0f} KiB gzipped. Times in ms. +p50/+p99/+ttfc are added"
          f" over direct calls in this run, ×p50 and ×rps are ratios to them. p50/p99 at 100 req/s are open loop (counted from"
          f" when each request was due); for the plain workerd rows, the median of {ROUNDS} rounds taken in turn with each other. ttfc: first content chunk of a stream, mean of {TTFC_RUNS}; the upstream sends one every"
          f" 20 ms. RSS: the target's process tree, idle and at peak under 50 connections. cpu/req: CPU µs of that tree per"
          f" request at 50 connections.")
    print("\n" + budget(rows, result["wasm_gzip_bytes"]))
    if core:
        print("\ncore hot paths on the host (cargo bench --bench core):")
        for c in core["cases"]:
            rate = f"  {c['mb_per_s']:8.1f} MB/s" if c.get("mb_per_s") else ""
            print(f"  {c['case']:64} {c['ns_per_op']:>10.0f} ns/op{rate}")
    else:
        print("\ncore micro-benchmarks: no results (cargo bench --bench core did not run or failed)")


def budget(rows, wasm_gzip_bytes):
    """Switchyard → upstream against the performance budget, relative to the bare JS worker."""
    by = {r["target"]: r for r in rows if "unavailable" not in r}
    js, sy = by.get("js pass-through (runtime floor)"), by.get("switchyard → upstream")
    if not js or not sy:
        return "budget: not measured"
    checks = [
        ("added p50 at 100 req/s over bare JS", sy["p50_ms_at_100rps"] - js["p50_ms_at_100rps"], "ms", "<=", 0.1),
        ("added p99 at 100 req/s over bare JS", sy["p99_ms_at_100rps"] - js["p99_ms_at_100rps"], "ms", "<=", 0.5),
        ("max req/s", sy["max_rps_c50"], "", ">=", 5000),
        ("max req/s as a share of bare JS", sy["max_rps_c50"] / js["max_rps_c50"], "", ">=", 0.8),
        ("p99 at 50 connections over bare JS's", sy["p99_ms_c50"] / js["p99_ms_c50"], "×", "<=", 2.0),
        ("wasm gzipped", wasm_gzip_bytes / 1000, "KB", "<=", 350),
        ("workerd RSS under load", sy["rss_mb_under_load"], "MB", "<=", 100),
    ]
    portkey = next((r for t, r in by.items() if t.startswith("portkey")), None)
    if portkey:
        checks.append(("max req/s over Portkey's", sy["max_rps_c50"] / portkey["max_rps_c50"], "×", ">=", 1.5))
    if sy.get("ttfc_ms") is not None and js.get("ttfc_ms") is not None:
        checks.append(("added first content chunk over bare JS", sy["ttfc_ms"] - js["ttfc_ms"], "ms", "<=", 1.0))
    hit, mf_js, full = by.get("mf: cache hit, key without limits"), by.get("mf: js pass-through"), by.get("mf: full pipeline, miss")
    if hit:
        checks.append(("cache hit p50 at 100 req/s", hit["p50_ms_at_100rps"], "ms", "<=", 1.0))
    if full and mf_js:
        checks.append(("full pipeline: added p50 over bare JS", full["p50_ms_at_100rps"] - mf_js["p50_ms_at_100rps"], "ms", "<=", 1.0))
    lines = ["budget (switchyard → upstream):"]
    for what, value, unit, op, limit in checks:
        ok = value <= limit if op == "<=" else value >= limit
        lines.append(f"  {what:40} {value:10.2f} {unit:3} {op} {limit:<6} {'met' if ok else 'MISSED'}")
    return "\n".join(lines)


def table(rows):
    """The comparison as a text table (one line per target)."""
    head = (f"{'target':34} {'p50@100':>8} {'+p50':>6} {'×p50':>5} {'p99@100':>8} {'+p99':>7} {'max rps':>8} {'×rps':>5}"
            f" {'p99@c50':>8} {'cpu/req':>7} {'ttfc':>6} {'+ttfc':>6} {'rss idle':>8} {'rss load':>8} {'ok':>5}")
    lines = [head, "-" * len(head)]
    f = lambda v, w, d=1: f"{v:>{w}.{d}f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"
    for r in rows:
        if "unavailable" in r:
            lines.append(f"{r['target']:34} unavailable: {r['unavailable'][:120]}")
            continue
        lines.append(f"{r['target']:34} {f(r['p50_ms_at_100rps'], 8, 2)} {f(r['added_p50_ms'], 6, 2)} {f(r['p50_vs_direct'], 5, 1)}"
                     f" {f(r['p99_ms_at_100rps'], 8, 2)} {f(r['added_p99_ms'], 7, 2)} {f(r['max_rps_c50'], 8, 0)} {f(r['rps_vs_direct'], 5, 3)}"
                     f" {f(r['p99_ms_c50'], 8, 1)} {f(r.get('cpu_us_per_request_c50'), 7, 0)} {f(r.get('ttfc_ms'), 6, 1)} {f(r.get('added_ttfc_ms'), 6, 1)}"
                     f" {f(r['rss_mb_idle'], 8, 1)} {f(r['rss_mb_under_load'], 8, 1)} {f(r['ok_ratio'], 5, 2)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
