// The Worker's entry: a small I/O driver around the Rust core.
//
// The core (compiled to wasm) decides everything; this file only performs what it asks:
// read the request, call the upstream (or play back the built-in mock), and send the reply,
// piping streams chunk by chunk. Calls into wasm are few, synchronous and carry bytes: the
// measured fast path on workerd (README, "Hot path").

import wasmModule from "../../build/switchyard_bg.wasm";
import { initSync, Gateway, EventKind, crash_reply, __wbg_reset_state } from "../../build/switchyard.js";
import { EMPTY, sleep, isTimeout, headerBlock, upstreamBlock, pathAndQuery, playMock, readWithin, objectCall, subcall, kvStep } from "./io.js";

export { TargetHealth, Tenant, SimilarIndex, Coalescer, Conversation, Job, Semaphore } from "./objects.js";

initSync({ module: wasmModule });

// The events reported to `Gateway.resume`, as the core defines them.
const { Head: HEAD, Body: BODY, Failed: FAILED, Answer: ANSWER, Called: CALLED } = EventKind;
// How long a request waits for an identical one already in flight before going upstream itself.
const FOLLOW_MS = 60_000;

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
  gw.set_conversations(Boolean(env.CONVERSATIONS));
  gw.set_jobs(Boolean(env.JOB && env.JOBS && env.SEMAPHORES));
  upstreamHeaders = gw.upstream_headers();
  const problems = gw.config_error();
  if (problems) console.error("switchyard: the config is invalid:\n" + problems);
  gateway = gw;
  return gw;
}

const tenantCall = (env, tenant, op) => objectCall(env.TENANTS, tenant, op, "tenant object");
const indexCall = (env, name, op) => objectCall(env.SIMILAR, name, op, "similar-prompt index");
const conversationCall = (env, name, op) => objectCall(env.CONVERSATIONS, name, op, "conversation");

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

// A request is answered: one Analytics Engine data point (written, never awaited), the
// followers woken, the cache write, the conversation summaries it wrote, and the settlement in the tenant's ledger (after the
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
  for (const p of after.kv_puts ?? []) {
    if (env.CACHE) ctx.waitUntil(env.CACHE.put(p.key, p.value, { expirationTtl: p.ttl }).catch((e) => console.error("switchyard: summary write failed", String(e))));
  }
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
        if (chunk.done) {
          const tail = step.end();
          if (tail !== undefined) return close(controller, tail);
          // A stored conversation's turn is stored before the stream's last bytes go out.
          const a = JSON.parse(step.action());
          const answer = await conversationCall(job.env, a.name, a.op);
          if (!open) return; // the client went away; the turn is stored all the same
          return close(controller, step.stored(answer));
        }
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

// The stored breakers of these targets' objects, read in parallel, as a JSON array in order
// (null: none stored, or no answer within HEALTH_READ_MS); undefined without the namespace.
const HEALTH_READ_MS = 500;
async function healthStates(env, targets) {
  if (!env.HEALTH) return undefined;
  const read = async (target) => {
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve(null), HEALTH_READ_MS)));
    try {
      return await Promise.race([env.HEALTH.get(env.HEALTH.idFromName(target)).state(), late]);
    } catch (e) {
      console.error("switchyard: health read failed", String(e));
      return null;
    } finally {
      clearTimeout(timer);
    }
  };
  return JSON.stringify(await Promise.all(targets.map(read)));
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

// The regex gates: the core has no regex engine, so the driver runs the patterns with
// JavaScript's RegExp, each compiled once per isolate. A pattern is a RegExp source, or
// "/source/flags". The answer: "1" or "0" per pattern, or "!" and the engine's message.
const compiled = new Map();
function runRegex(patterns, bytes) {
  const text = new TextDecoder().decode(bytes);
  let bits = "";
  for (const p of patterns) {
    let re = compiled.get(p);
    if (!re) {
      const m = /^\/([^]*)\/([a-z]*)$/.exec(p);
      try {
        re = m && m[1] ? new RegExp(m[1], m[2].replace(/[gy]/g, "")) : new RegExp(p);
      } catch (e) {
        return "!" + String(e.message || e);
      }
      if (compiled.size >= 256) compiled.clear();
      compiled.set(p, re);
    }
    bits += re.test(text) ? "1" : "0";
  }
  return bits;
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
        a = resume(HEAD, upstream.status, upstreamBlock(upstream.headers, upstreamHeaders));
        break;
      case "mock":
        upstream = await playMock(a, step.take_bytes());
        a = resume(HEAD, upstream.status, upstreamBlock(upstream.headers, upstreamHeaders));
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
      case "conversation":
        a = resume(ANSWER, 0, await conversationCall(env, a.name, a.op));
        break;
      case "regex":
        a = resume(ANSWER, 0, runRegex(a.patterns, step.take_bytes()));
        break;
      case "job":
        a = resume(ANSWER, 0, await objectCall(env.JOB, a.name, a.op, "job"));
        break;
      case "health":
        a = resume(ANSWER, 0, await healthStates(env, a.targets));
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

// Queued jobs (README, "Jobs"). A job waiting for a concurrency slot, or told 429, goes back
// to the queue as a fresh message rather than by `message.retry()`: retries count toward the
// queue's `max_retries`, which is kept for deliveries that crash.
const BUSY_S = 1;

async function jobCall(env, tenant, id, op) {
  const stub = env.JOB.get(env.JOB.idFromName(JSON.stringify([tenant, id])));
  return JSON.parse(await stub.call(JSON.stringify(op)));
}

async function requeue(env, tenant, id, op, seconds) {
  await jobCall(env, tenant, id, { ...op, delay_ms: seconds * 1000 });
  await env.JOBS.send({ tenant, id }, { delaySeconds: seconds });
}

// Take every slot a job holds (`[[name, limit], ...]`: its model's, then its provider's), in
// order, each a `Semaphore` object named by the slot; if one is full (or fails), give back
// those taken and answer null (or throw).
async function takeSlots(env, slots, token, leaseMs) {
  const held = [];
  try {
    for (const [name, limit] of slots) {
      const slot = env.SEMAPHORES.get(env.SEMAPHORES.idFromName(name));
      if (!(await slot.acquire(token, limit, leaseMs))) break;
      held.push(slot);
    }
  } catch (e) {
    await releaseSlots(held, token);
    throw e;
  }
  if (held.length === slots.length) return held;
  await releaseSlots(held, token);
  return null;
}

async function releaseSlots(held, token) {
  await Promise.all(held.map((slot) => slot.release(token).catch(() => {})));
}

// One delivery: claim the job (a duplicate of a running or finished job stops here), take the
// slots of its model and provider, run it through the gateway as its caller, store the result
// as the claim's holder (a stale holder's result is dropped by the job).
async function runJob(env, ctx, m) {
  const { tenant, id } = m.body ?? {};
  if (typeof tenant !== "string" || typeof id !== "string") return m.ack();
  const token = crypto.randomUUID();
  const c = await jobCall(env, tenant, id, { op: "claim", token });
  if (!c?.claimed) return m.ack();
  const gw = getGateway(env);
  const model = String(c.model ?? c.body?.model ?? "");
  const held = await takeSlots(env, JSON.parse(gw.job_slots(model)), token, c.lease_ms);
  if (!held) {
    await requeue(env, tenant, id, { op: "release", token, counted: false }, BUSY_S);
    return m.ack();
  }
  let response;
  let text;
  try {
    const step = gw.start_job(JSON.stringify(c.who), c.url, new TextEncoder().encode(JSON.stringify(c.body)), id);
    response = await drive({ env, ctx, remote: null }, gw, step);
    text = await response.text();
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) crashed(error, c.url, id);
    await jobCall(env, tenant, id, { op: "release", token, counted: true, delay_ms: 0 }).catch(() => {});
    return m.retry();
  } finally {
    await releaseSlots(held, token);
  }
  if (response.status === 429) {
    const seconds = Math.min(Math.max(Math.ceil(Number(response.headers.get("retry-after")) || 1), 1), 3600);
    await requeue(env, tenant, id, { op: "release", token, counted: true }, seconds);
    return m.ack();
  }
  await jobCall(env, tenant, id, { op: "finish", token, status: response.status, body: text });
  m.ack();
}

export default {
  async scheduled(event, env, ctx) {
    ctx.waitUntil(runProbes(getGateway(env), env));
  },

  async queue(batch, env, ctx) {
    const dead = batch.queue.endsWith("-dead");
    await Promise.all(
      batch.messages.map(async (m) => {
        try {
          if (!dead) return await runJob(env, ctx, m);
          const { tenant, id } = m.body ?? {};
          if (typeof tenant === "string" && typeof id === "string") await jobCall(env, tenant, id, { op: "dead" });
          m.ack();
        } catch (e) {
          console.error("switchyard: job delivery failed", String(e));
          m.retry();
        }
      }),
    );
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
