// Serves one worker on workerd through Miniflare's programmatic API, which brings the
// local KV, Durable Object and Analytics Engine implementations that plain workerd lacks.
//
//   node pipeline.mjs SPEC.json
//
// SPEC: {"worker": "passthrough" | "switchyard", "bundle": dir of `wrangler deploy --dry-run
// --outdir`, "passthrough": path of the JS pass-through, "bindings": {NAME: text},
// "bound": true to bind KEYS, CACHE, the four Durable Object classes and ANALYTICS as
// wrangler.toml does, "persist": folder for KV and Durable Object state}.
//
// Requests reach the worker on a socket of its own (`unsafeDirectSockets`) that workerd
// serves directly: no node proxy, and not Miniflare's entry worker (which routes, rewrites
// `request.cf` and logs through node). Its outbound fetch goes straight to workerd's network
// service (`stripCfConnectingIp: false` removes the extra worker Miniflare puts there).
// Prints one JSON line, {"url", "miniflare"}, once ready; ends on SIGTERM or SIGINT.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { Miniflare } from "miniflare";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(import.meta.url);
const version = JSON.parse(readFileSync(path.join(path.dirname(require.resolve("miniflare")), "../../package.json"), "utf8")).version;

const worker = {
  name: spec.worker,
  compatibilityDate: "2025-09-01",
  bindings: spec.bindings ?? {},
  unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  stripCfConnectingIp: false,
};

if (spec.worker === "passthrough") {
  worker.modules = [{ type: "ESModule", path: spec.passthrough }];
} else {
  const wasm = readdirSync(spec.bundle).filter((f) => f.endsWith(".wasm"));
  if (wasm.length !== 1) throw new Error(`expected one .wasm in ${spec.bundle}, found ${wasm.length}`);
  // Module names are paths relative to modulesRoot: entry.js imports "./<hash>-switchyard_bg.wasm".
  worker.modulesRoot = spec.bundle;
  worker.modules = [
    { type: "ESModule", path: path.join(spec.bundle, "entry.js") },
    { type: "CompiledWasm", path: path.join(spec.bundle, wasm[0]) },
  ];
  if (spec.bound) {
    worker.kvNamespaces = { KEYS: "switchyard-keys", CACHE: "switchyard-cache" };
    const sqlite = (className) => ({ className, useSQLite: true });
    worker.durableObjects = {
      HEALTH: sqlite("TargetHealth"),
      TENANTS: sqlite("Tenant"),
      SIMILAR: sqlite("SimilarIndex"),
      COALESCER: sqlite("Coalescer"),
    };
    worker.analyticsEngineDatasets = { ANALYTICS: { dataset: "switchyard_requests" } };
  }
}

const persist = spec.persist ? { kvPersist: path.join(spec.persist, "kv"), durableObjectsPersist: path.join(spec.persist, "do") } : {};
const mf = new Miniflare({ host: "127.0.0.1", port: 0, ...persist, workers: [worker] });
const url = await mf.unsafeGetDirectURL(spec.worker);
process.stdout.write(JSON.stringify({ url: url.href, miniflare: version }) + "\n");

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  try {
    await mf.dispose();
  } finally {
    process.exit(0);
  }
};
process.on("SIGTERM", close);
process.on("SIGINT", close);
