// The Worker's entry: a small I/O driver around the Rust core.
//
// The core (compiled to wasm) decides everything; this file only performs what it asks:
// read the request, call the upstream (or play back the built-in mock), and send the reply,
// piping streams chunk by chunk. Calls into wasm are few, synchronous and carry bytes: the
// measured fast path on workerd (README, "Hot path").

import { DurableObject } from "cloudflare:workers";
import wasmModule from "../../build/switchyard_bg.wasm";
import {
  initSync,
  Gateway,
  crash_reply,
  __wbg_reset_state,
  health_apply,
  tenant_apply,
  tenant_schema,
  similar_schema,
  similar_statements,
  similar_pick,
} from "../../build/switchyard.js";

initSync({ module: wasmModule });

// The events reported to `Gateway.resume`.
const HEAD = 0, BODY = 1, FAILED = 2, ANSWER = 3, CALLED = 4;
// How long a request waits for an identical one already in flight before going upstream itself.
const FOLLOW_MS = 60_000;
const EMPTY = new Uint8Array(0);

let gateway = null;
// The upstream response headers the core reads (`Gateway.upstream_headers`).
let upstreamHeaders = [];

function getGateway(env) {
  if (gateway) return gateway;
  const gw = new Gateway(typeof env.SWITCHYARD_CONFIG === "string" ? env.SWITCHYARD_CONFIG : undefined);
  for (const name of gw.secret_names()) {
    const value = env[name];
    if (typeof value === "string") gw.set_secret(name, value);
  }
  gw.set_keystore(Boolean(env.KEYS));
  gw.set_ledger(Boolean(env.TENANTS));
  gw.set_cache(Boolean(env.CACHE));
  gw.set_similar_index(Boolean(env.SIMILAR));
  upstreamHeaders = gw.upstream_headers();
  const problems = gw.config_error();
  if (problems) console.error("switchyard: the config is invalid:\n" + problems);
  gateway = gw;
  return gw;
}

// Headers cross into wasm as one block of `name:value` lines (one crossing, not two per header).
function headerBlock(headers) {
  let block = "";
  for (const [k, v] of headers) block += k + ":" + v + "\n";
  return block;
}

// The header block of an upstream response: only the headers the core reads, by name.
function upstreamBlock(headers) {
  let block = "";
  for (const name of upstreamHeaders) {
    const value = headers.get(name);
    if (value !== null) block += name + ":" + value + "\n";
  }
  return block;
}

// The path and query of a request URL, without parsing it: the URL workerd hands a worker is
// always absolute (`scheme://host/path?query`).
function pathAndQuery(url) {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const isTimeout = (e) => e?.name === "TimeoutError" || e?.name === "AbortError";

// The built-in mock upstream, played back with real timers so delays and chunk spacing are
// real. Its frames arrive as one buffer; `a.frames` holds their lengths.
async function playMock(a, bytes) {
  if (a.delay_ms) await sleep(a.delay_ms);
  const frames = [];
  for (let i = 0, at = 0; i < a.frames.length; at += a.frames[i++]) frames.push(bytes.subarray(at, at + a.frames[i]));
  const init = { status: a.status, headers: a.headers };
  if (frames.length <= 1 && !a.cut) return new Response(frames[0] ?? null, init);
  let next = 0;
  const body = new ReadableStream({
    async pull(controller) {
      if (next < frames.length) {
        if (next > 0 && a.interval_ms) await sleep(a.interval_ms);
        controller.enqueue(frames[next++]);
      } else if (a.cut) {
        controller.error(new Error("mock stream cut"));
      } else {
        controller.close();
      }
    },
  });
  return new Response(body, init);
}

// A read that fails if no chunk arrives within `ms` (0: wait as long as it takes).
function readWithin(reader, ms) {
  if (!ms) return reader.read();
  let timer;
  const idle = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new DOMException("stream idle", "TimeoutError")), ms);
  });
  return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
}

// One op (JSON) on the Durable Object `name` of a namespace; its answer, or undefined when
// it cannot be reached.
async function objectCall(namespace, name, op, what) {
  try {
    return await namespace.get(namespace.idFromName(name)).call(op);
  } catch (e) {
    console.error(`switchyard: ${what} unreachable`, String(e));
    return undefined;
  }
}

const tenantCall = (env, tenant, op) => objectCall(env.TENANTS, tenant, op, "tenant object");
const indexCall = (env, name, op) => objectCall(env.SIMILAR, name, op, "similar-prompt index");

// A KV read of the response cache; a failing read is a miss (the request is served uncached).
// A leader that misses may also coalesce across isolates (`coalesce`).
async function cacheGet(job, a) {
  let value = null;
  try {
    value = await job.env.CACHE.get(a.key);
  } catch (e) {
    console.error("switchyard: cache read failed; serving uncached", String(e));
  }
  if (value === null && a.coalesce && job.env.COALESCER) value = await coalesceAcross(job, a.key);
  return value ?? undefined;
}

// Across isolates: the key's Coalescer object names one leader; the others wait for its
// answer (null after FOLLOW_MS, or when the object cannot be reached: go upstream).
async function coalesceAcross(job, key) {
  try {
    const stub = job.env.COALESCER.get(job.env.COALESCER.idFromName(key));
    const r = await stub.join(FOLLOW_MS);
    if (r.lead) job.remote = stub;
    return r.value ?? null;
  } catch (e) {
    console.error("switchyard: coalescer unreachable", String(e));
    return null;
  }
}

// Requests waiting for an identical one in this isolate (the core decides who leads and who
// follows): id -> resolve. A wait that runs out resolves with nothing.
const waiting = new Map();

function follow(a) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(a.id);
      resolve(undefined);
    }, a.wait_ms);
    waiting.set(a.id, (value) => {
      clearTimeout(timer);
      waiting.delete(a.id);
      resolve(value ?? undefined);
    });
  });
}

// Wake the followers the core names, all with the same entry (or nothing: go upstream).
function wake(m) {
  if (!m.wake) return;
  for (const id of m.wake) waiting.get(id)?.(m.value);
}

// Settlement batches for tenants' objects; each call's return asks the core for the next
// round of its chain (the core batches them: README, "Spend control").
async function settle(job, batches) {
  await Promise.all(
    batches.map(async (b) => {
      await tenantCall(job.env, b.tenant, b.op);
      const next = JSON.parse(getGateway(job.env).settled(b.tenant, b.chain));
      if (next.length) await settle(job, next);
    }),
  );
}

// A sub-request the core makes for itself (an embedding, a judge, a summary): [status, body]
// (status 0: no answer).
async function subcall(a, body) {
  try {
    const r = await fetch(a.url, { method: "POST", headers: a.headers, body, signal: AbortSignal.timeout(a.timeout_ms) });
    return [r.status, new Uint8Array(await r.arrayBuffer())];
  } catch {
    return [0, EMPTY];
  }
}

// A request is answered: one Analytics Engine data point (written, never awaited), the
// followers woken, the cache write, and the settlement in the tenant's ledger (after the
// response, through waitUntil).
function finish(job, gw, step) {
  const { env, ctx } = job;
  const after = JSON.parse(gw.after(step));
  step.free();
  if (env.ANALYTICS && after.analytics) env.ANALYTICS.writeDataPoint(after.analytics);
  wake(after);
  const put = after.cache_put;
  if (put && env.CACHE) {
    const written = env.CACHE.put(put.key, put.value, { expirationTtl: put.ttl }).catch((e) =>
      console.error("switchyard: cache write failed", String(e)),
    );
    ctx.waitUntil(put.lead === undefined ? written : written.finally(() => getGateway(env).cache_written(put.key, put.lead)));
  }
  if (job.remote) ctx.waitUntil(job.remote.done(put ? put.value : null).catch(() => {}));
  const similar = put && env.SIMILAR ? after.similar_put : undefined;
  if (similar) ctx.waitUntil(indexCall(env, similar.name, similar.op));
  if (after.settle.length && env.TENANTS) ctx.waitUntil(settle(job, after.settle));
}

// Pipe the upstream stream to the client through the core, one chunk at a time. The request
// stays registered with waitUntil until the stream ends: without something pending there,
// workerd does not call `cancel` when the client goes away, and the request would never
// settle (its lease held, identical requests waiting on it).
function streamReply(job, gw, step, upstreamBody, a) {
  const reader = upstreamBody.getReader();
  const idleMs = a.idle_ms;
  let open = true;
  let ended;
  job.ctx.waitUntil(new Promise((resolve) => (ended = resolve)));
  const end = () => {
    open = false;
    finish(job, gw, step);
    ended();
  };
  const close = (controller, tail) => {
    if (tail && tail.length) controller.enqueue(tail);
    controller.close();
    end();
  };
  const body = new ReadableStream({
    async pull(controller) {
      for (;;) {
        let chunk;
        try {
          chunk = await readWithin(reader, idleMs);
        } catch {
          if (!open) return;
          reader.cancel().catch(() => {});
          return close(controller, step.stream_error());
        }
        if (!open) return; // the client went away while this read waited
        if (chunk.done) return close(controller, step.end());
        const replaced = step.chunk(chunk.value);
        if (replaced === undefined) return controller.enqueue(chunk.value);
        if (replaced.length) controller.enqueue(replaced);
        if (step.closed()) {
          reader.cancel().catch(() => {});
          return close(controller);
        }
        if (replaced.length) return;
      }
    },
    cancel(reason) {
      reader.cancel(reason).catch(() => {});
      if (open) end();
    },
  });
  return new Response(body, { status: a.status, headers: a.headers });
}

// One operation on the KEYS namespace; the result goes back to the core as a string.
async function kvStep(kv, a) {
  switch (a.op) {
    case "get":
      return (await kv.get(a.key, { cacheTtl: a.cache_ttl })) ?? undefined;
    case "put":
      await kv.put(a.key, a.value, { metadata: a.metadata });
      return undefined;
    case "delete":
      await kv.delete(a.key);
      return undefined;
    default: {
      const entries = [];
      let cursor;
      do {
        const page = await kv.list({ prefix: a.key, cursor });
        for (const k of page.keys) entries.push({ name: k.name, metadata: k.metadata ?? null });
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return JSON.stringify(entries);
    }
  }
}

// Send an attempt's outcome to its target's Durable Object, which keeps the breaker every
// isolate shares, and adopt the state it answers with.
async function reportOne(gw, env, o) {
  try {
    const stub = env.HEALTH.get(env.HEALTH.idFromName(o.target));
    gw.adopt_health(await stub.record(o.target, gw.breaker_config(), o.now_ms, o.ok, o.elapsed_ms));
  } catch (e) {
    console.error("switchyard: health report failed", String(e));
  }
}

async function reportHealth(gw, env, outcomes) {
  for (const o of outcomes) await reportOne(gw, env, o);
}

// The Cron Trigger: probe each target named in `health_checks` with a one-token request and
// feed the breakers. Locally: `wrangler dev --test-scheduled`, then GET /__scheduled.
async function runProbes(gw, env) {
  await Promise.all(
    JSON.parse(gw.probes()).map(async (p) => {
      const started = Date.now();
      let status = 0;
      try {
        const r = await fetch(p.url, { method: "POST", headers: p.headers, body: p.body, signal: AbortSignal.timeout(p.timeout_ms) });
        status = r.status;
        await r.arrayBuffer();
      } catch {
        status = 0;
      }
      const outcome = gw.probe_result(p.target, status, Date.now() - started);
      if (outcome && env.HEALTH) await reportOne(gw, env, JSON.parse(outcome));
    }),
  );
}

// One breaker per target, in SQLite-backed storage: a thin shell around the core's
// `health_apply`.
export class TargetHealth extends DurableObject {
  async record(target, config, nowMs, ok, elapsedMs) {
    const stored = await this.ctx.storage.get("state");
    const next = health_apply(stored ?? undefined, target, config, nowMs, ok, elapsedMs);
    await this.ctx.storage.put("state", next);
    return next;
  }
}

// One tenant's spend control and ledger, in SQLite-backed storage: a thin shell around the
// core's `tenant_apply`. Its state is one small JSON document, kept in memory between calls;
// every call runs without awaiting once it is loaded, so calls never interleave.
export class Tenant extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(tenant_schema());
    this.state = null;
    ctx.blockConcurrencyWhile(async () => {
      this.state = (await ctx.storage.get("state")) ?? null;
    });
  }

  async call(op) {
    const r = JSON.parse(tenant_apply(this.state ?? undefined, op, Date.now()));
    if (r.state !== undefined) {
      this.state = r.state;
      this.ctx.storage.put("state", r.state);
    }
    let rows = [];
    for (const q of r.sql ?? []) rows = this.ctx.storage.sql.exec(q.sql, ...q.args).toArray();
    return JSON.stringify(r.rows ? rows : r.reply);
  }
}

// Recent prompts' embeddings for one tenant and route (the similar-prompt cache): SQLite
// statements and the cosine search both come from the core.
export class SimilarIndex extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(similar_schema());
  }

  async call(op) {
    let rows = [];
    for (const q of JSON.parse(similar_statements(op))) rows = this.ctx.storage.sql.exec(q.sql, ...q.args).toArray();
    return similar_pick(op, JSON.stringify(rows));
  }
}

// One per cache key, for coalescing identical requests across isolates: the first to join
// leads, the rest wait for its answer. Nothing is stored: if the object restarts, waiters
// get null and go upstream themselves.
export class Coalescer extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.leaderSince = 0;
    this.waiters = [];
  }

  // {lead: true} for the leader; {value} (an entry, or null) for the others.
  async join(waitMs) {
    const now = Date.now();
    if (!this.leaderSince || now - this.leaderSince > waitMs) {
      this.leaderSince = now;
      return { lead: true };
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ value: null }), waitMs);
      this.waiters.push((value) => {
        clearTimeout(timer);
        resolve({ value });
      });
    });
  }

  async done(value) {
    this.leaderSince = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(value);
  }
}

// Perform the core's actions one after another until the reply (or its stream's head).
async function drive(job, gw, step) {
  const { env, ctx } = job;
  const resume = (event, status, text, bytes) => {
    const next = JSON.parse(gw.resume(step, event, status, text, bytes ?? EMPTY));
    wake(next);
    return next;
  };
  let upstream = null;
  let upstreamBody = null;
  let a = JSON.parse(step.action());
  for (;;) {
    switch (a.do) {
      case "respond": {
        const body = a.upstream_body ? upstreamBody : step.take_bytes();
        if (a.outcomes && env.HEALTH) ctx.waitUntil(reportHealth(gw, env, a.outcomes));
        const response = new Response(body, { status: a.status, headers: a.headers });
        finish(job, gw, step);
        return response;
      }
      case "stream":
        if (a.outcomes && env.HEALTH) ctx.waitUntil(reportHealth(gw, env, a.outcomes));
        return streamReply(job, gw, step, upstream.body, a);
      case "fetch":
        try {
          if (a.delay_ms) await sleep(a.delay_ms);
          const total = AbortSignal.timeout(a.timeout_ms);
          const head = a.ttfb_ms ? new AbortController() : null;
          const timer = head ? setTimeout(() => head.abort(new DOMException("no response head in time", "TimeoutError")), a.ttfb_ms) : null;
          try {
            upstream = await fetch(a.url, {
              method: "POST",
              headers: a.headers,
              body: step.take_bytes(),
              signal: head ? AbortSignal.any([total, head.signal]) : total,
            });
          } finally {
            if (timer) clearTimeout(timer);
          }
        } catch (e) {
          a = resume(FAILED, isTimeout(e) ? 1 : 0);
          break;
        }
        a = resume(HEAD, upstream.status, upstreamBlock(upstream.headers));
        break;
      case "mock":
        upstream = await playMock(a, step.take_bytes());
        a = resume(HEAD, upstream.status, upstreamBlock(upstream.headers));
        break;
      case "read_body":
        try {
          upstreamBody = new Uint8Array(await upstream.arrayBuffer());
        } catch (e) {
          a = resume(FAILED, isTimeout(e) ? 1 : 0);
          break;
        }
        a = resume(BODY, 0, undefined, upstreamBody);
        break;
      case "kv":
        a = resume(ANSWER, 0, await kvStep(env.KEYS, a));
        break;
      case "tenant":
        a = resume(ANSWER, 0, await tenantCall(env, a.name, a.op));
        break;
      case "cache_get":
        a = resume(ANSWER, 0, await cacheGet(job, a));
        break;
      case "follow":
        a = resume(ANSWER, 0, await follow(a));
        break;
      case "call": {
        const [status, body] = await subcall(a, step.take_bytes());
        a = resume(CALLED, status, undefined, body);
        break;
      }
      case "index":
        a = resume(ANSWER, 0, (await indexCall(env, a.name, a.op)) || undefined);
        break;
      default:
        throw new Error("unknown action " + a.do);
    }
  }
}

// A bug in the gateway: answer with a 500 in the caller's dialect (the core's own error
// encoder) and make sure the next request starts clean.
function crashed(error, path, requestId) {
  requestId ||= "req_" + crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  console.error("switchyard: internal error", requestId, error?.stack || String(error));
  if (error instanceof WebAssembly.RuntimeError) {
    __wbg_reset_state();
    gateway = null;
  }
  let a;
  try {
    a = JSON.parse(crash_reply(path, requestId));
  } catch {
    a = { status: 500, headers: { "content-type": "application/json", "x-request-id": requestId }, body: '{"error":{"message":"internal gateway error","type":"server_error","code":"internal_error","param":null}}' };
  }
  return new Response(a.body, { status: a.status, headers: a.headers });
}

export default {
  async scheduled(event, env, ctx) {
    ctx.waitUntil(runProbes(getGateway(env), env));
  },

  async fetch(request, env, ctx) {
    let requestId = "";
    let path = "/";
    const job = { env, ctx, remote: null };
    let step = null;
    try {
      const gw = getGateway(env);
      const declared = Number(request.headers.get("content-length") ?? -1);
      const skipBody = request.method === "GET" || request.method === "HEAD" || declared > gw.max_body_bytes();
      const body = skipBody ? EMPTY : new Uint8Array(await request.arrayBuffer());
      path = pathAndQuery(request.url);
      const entropy = path.startsWith("/admin/") ? crypto.getRandomValues(new Uint8Array(24)) : EMPTY;
      step = gw.start(request.method, path, headerBlock(request.headers), body, skipBody ? declared : -1, entropy);
      requestId = step.request_id();
      return await drive(job, gw, step);
    } catch (error) {
      if (step && !(error instanceof WebAssembly.RuntimeError)) {
        try {
          wake(JSON.parse("{" + gateway.abort(step).slice(1) + "}"));
        } catch {}
      }
      if (job.remote) ctx.waitUntil(job.remote.done(null).catch(() => {}));
      return crashed(error, path.split("?")[0], requestId);
    }
  },
};
