"""Measure four ways to serve the same request on plain workerd (see hotpath/src/lib.rs):
A bare JavaScript, B the `worker` crate's wrappers, C async Rust on raw web-sys, D a
synchronous bytes-in/bytes-out export driven by JS. This measurement chose the edge's design."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from run import ROOT, free_port, oha, start_workerd, wait_port

HERE = Path(__file__).parent / "hotpath"
BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Say something short."}]})


def main():
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="switchyard-hotpath-"))
    procs = []
    try:
        up_port = free_port()
        procs.append(subprocess.Popen(["node", str(Path(__file__).parent / "upstream.mjs"), str(up_port)]))
        wait_port(up_port)
        (tmp / "upstream.txt").write_text(f"http://127.0.0.1:{up_port}/v1/chat/completions")
        modules = [("entry.js", "esModule", str(HERE / "dist/entry.js")), ("pkg/hotpath_bg.wasm", "wasm", str(HERE / "pkg/hotpath_bg.wasm"))]
        proc, port = start_workerd(tmp, "hotpath", modules, [("UPSTREAM", str(tmp / "upstream.txt"))])
        procs.append(proc)
        rows = []
        for variant, label in [("a", "A bare JavaScript (floor)"), ("b", "B worker crate #[event(fetch)]"),
                               ("c", "C async Rust on web-sys"), ("d", "D sync bytes export + JS I/O")]:
            fixed = oha(f"http://127.0.0.1:{port}/{variant}", BODY, ["-q", "100"])
            loaded = oha(f"http://127.0.0.1:{port}/{variant}", BODY, ["-c", "50"])
            rows.append((label, fixed["p50_ms"], fixed["p99_ms"], loaded["rps"], loaded["p99_ms"]))
    finally:
        for p in procs:
            p.terminate()
    print(f"{'variant':34} {'p50@100':>8} {'p99@100':>8} {'max rps':>8} {'×A':>5} {'p99@c50':>8}")
    for label, p50, p99, rps, p99c in rows:
        print(f"{label:34} {p50:8.2f} {p99:8.2f} {rps:8.0f} {rps / rows[0][3]:5.2f} {p99c:8.1f}")


if __name__ == "__main__":
    sys.exit(main())
