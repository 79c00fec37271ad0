"""Benchmark Switchyard on plain workerd against direct calls and a bare JavaScript
pass-through worker (the runtime's floor), all on 127.0.0.1. Prints one table and writes
bench-results/results.json. Run through scripts/bench, which builds and installs first."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKERD = ROOT / "node_modules/.bin/workerd"
DURATION = os.environ.get("BENCH_DURATION", "10s")
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


def oha(url, body, extra):
    cmd = ["oha", "-z", DURATION, "--no-tui", "--output-format", "json", "-m", "POST", "-H", "content-type: application/json",
           "-H", f"authorization: Bearer {DEV_KEY}", "-d", body, *extra, url]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    codes = out.get("statusCodeDistribution", {})
    ok = codes.get("200", 0)
    return {"rps": out["summary"]["requestsPerSec"], "p50_ms": out["latencyPercentiles"]["p50"] * 1000,
            "p99_ms": out["latencyPercentiles"]["p99"] * 1000, "ok_ratio": ok / max(1, sum(codes.values()))}


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def ttfc_ms(url, n=20):
    """Time to the first content chunk of a stream (not the first byte), median of n."""
    times = []
    for _ in range(n):
        req = urllib.request.Request(url, data=STREAM_BODY.encode(), method="POST",
                                     headers={"content-type": "application/json", "authorization": f"Bearer {DEV_KEY}"})
        t = time.perf_counter()
        with urllib.request.urlopen(req) as r:
            for line in r:
                if b'"content":"The' in line.replace(b" ", b""):
                    times.append((time.perf_counter() - t) * 1000)
                    break
            r.read()
    times.sort()
    return times[len(times) // 2] if times else None


def measure(name, url, pid=None, body=BODY):
    fixed = oha(url, body, ["-q", "100"])
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            if pid:
                peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample)
    t.start()
    loaded = oha(url, body, ["-c", "50"])
    stop.set()
    t.join()
    return {"target": name, "p50_ms_at_100rps": fixed["p50_ms"], "p99_ms_at_100rps": fixed["p99_ms"],
            "max_rps_c50": loaded["rps"], "p99_ms_c50": loaded["p99_ms"], "ok_ratio": min(fixed["ok_ratio"], loaded["ok_ratio"]),
            "rss_mb_under_load": peak[0] / 1024 if pid else None, "ttfc_ms": ttfc_ms(url)}


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
        config = {"providers": {"up": {"kind": "openai", "base_url": f"http://127.0.0.1:{up_port}/v1"}, "mock": {"kind": "mock"}},
                  "models": [{"name": "bench", "provider": "up", "model": "bench-model"}, {"name": "bench-mock", "provider": "mock", "model": "mock-1"}],
                  "keys": [{"name": "bench", "sha256": "8edd8fc603d1de18ee8dcf261109b9486994e9fd6b674a0177e29b88128a7ef3", "tenant": "bench"}]}
        (tmp / "config.json").write_text(json.dumps(config))
        wasm = next(bundle.glob("*.wasm"))
        modules = [("entry.js", "esModule", str(bundle / "entry.js")), (wasm.name, "wasm", str(wasm))]
        sy, sy_port = start_workerd(tmp, "switchyard", modules, [("SWITCHYARD_CONFIG", str(tmp / "config.json"))])
        procs.append(sy)
        sy_url = f"http://127.0.0.1:{sy_port}/v1/chat/completions"
        rows = [
            measure("direct (the limit)", upstream_url),
            measure("js pass-through (runtime floor)", f"http://127.0.0.1:{js_port}/", js.pid),
            measure("switchyard → upstream", sy_url, sy.pid),
            measure("switchyard built-in mock", sy_url, sy.pid, body=BODY.replace('"bench"', '"bench-mock"')),
        ]
    finally:
        for p in procs:
            p.terminate()
    base = rows[0]
    for r in rows:
        r["added_p50_ms"] = r["p50_ms_at_100rps"] - base["p50_ms_at_100rps"]
        r["added_p99_ms"] = r["p99_ms_at_100rps"] - base["p99_ms_at_100rps"]
        r["rps_vs_direct"] = r["max_rps_c50"] / base["max_rps_c50"]
    wasm_bytes = wasm.stat().st_size
    import gzip
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "duration": DURATION, "rows": rows,
              "wasm_bytes": wasm_bytes, "wasm_gzip_bytes": len(gzip.compress(wasm.read_bytes(), 9))}
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    head = f"{'target':34} {'p50@100':>8} {'p99@100':>8} {'+p50':>6} {'+p99':>6} {'max rps':>8} {'×direct':>7} {'p99@c50':>8} {'ttfc':>6} {'rss MB':>7} {'ok':>5}"
    print(head)
    print("-" * len(head))
    f = lambda v, w, d=1: f"{v:>{w}.{d}f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"
    for r in rows:
        print(f"{r['target']:34} {f(r['p50_ms_at_100rps'], 8, 2)} {f(r['p99_ms_at_100rps'], 8, 2)} {f(r['added_p50_ms'], 6, 2)} {f(r['added_p99_ms'], 6, 2)}"
              f" {f(r['max_rps_c50'], 8, 0)} {f(r['rps_vs_direct'], 7, 2)} {f(r['p99_ms_c50'], 8, 1)} {f(r['ttfc_ms'], 6, 1)} {f(r['rss_mb_under_load'], 7, 1)} {f(r['ok_ratio'], 5, 2)}")
    print(f"\nwasm: {wasm_bytes / 1024:.0f} KiB raw, {result['wasm_gzip_bytes'] / 1024:.0f} KiB gzipped. Times in ms; +p50/+p99 are added over direct calls in this run.")


if __name__ == "__main__":
    sys.exit(main())
