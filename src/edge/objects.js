// The Durable Object classes: thin shells around the core's pure functions (wasm exports),
// keeping state in SQLite-backed storage.

import { DurableObject } from "cloudflare:workers";
import { objectCall } from "./io.js";
import {
  health_apply,
  tenant_apply,
  tenant_schema,
  similar_schema,
  similar_statements,
  similar_pick,
  conversation_schema,
  conversation_step,
  job_apply,
  webhook_signature,
} from "../../build/switchyard.js";

// One breaker per target, in SQLite-backed storage: a thin shell around the core's
// `health_apply`. `state` reads the stored breaker (JSON, or null) for GET /v1/health.
export class TargetHealth extends DurableObject {
  async record(target, config, nowMs, ok, elapsedMs) {
    const stored = await this.ctx.storage.get("state");
    const next = health_apply(stored ?? undefined, target, config, nowMs, ok, elapsedMs);
    await this.ctx.storage.put("state", next);
    return next;
  }

  async state() {
    return (await this.ctx.storage.get("state")) ?? null;
  }
}

// One tenant's spend control and ledger, in SQLite-backed storage: a thin shell around the
// core's `tenant_apply`. Its state is one small JSON document, kept in memory between calls;
// every call runs without awaiting once it is loaded, so calls never interleave.
export class Tenant extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    for (const s of tenant_schema().split(";")) ctx.storage.sql.exec(s);
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

// One stored conversation of one tenant (README, "Sessions"): a thin shell around the core's
// `conversation_step`. Each op takes two phases within one call, without awaiting between
// them, so ops never interleave: the reads, then (given their rows) the writes in one
// transaction, the reply, and the alarm that deletes the conversation once it is idle.
// Its tables are made by its first write, so an object only ever asked about (an unknown id,
// another tenant's) keeps no storage: until then every read reads nothing.
export class Conversation extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.made = ctx.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
  }

  async call(op) {
    return this.run(op);
  }

  async alarm() {
    await this.run('{"op":"expire"}');
  }

  async run(op) {
    const { storage } = this.ctx;
    const exec = (q) => storage.sql.exec(q.sql, ...q.args).toArray();
    const now = Date.now();
    const reads = JSON.parse(conversation_step(op, undefined, now));
    if (reads.reply !== undefined) return reads.reply;
    const rows = JSON.stringify(reads.sql.map((q) => (this.made ? exec(q) : [])));
    const plan = JSON.parse(conversation_step(op, rows, now));
    if (plan.sql.length && !plan.drop && !this.made) {
      for (const s of conversation_schema().split(";")) storage.sql.exec(s);
      this.made = true;
    }
    if (this.made) storage.transactionSync(() => plan.sql.forEach(exec));
    if (plan.drop) {
      await storage.deleteAlarm();
      await storage.deleteAll();
      this.made = false;
    } else if (plan.alarm !== undefined) {
      await storage.setAlarm(plan.alarm);
    }
    return plan.reply;
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

// One queued job (README, "Jobs"): a thin shell around the core's `job_apply`. Its state is
// one JSON document kept in memory once loaded; every call runs without awaiting before it
// is applied, so calls never interleave (the claim is a compare-and-set). It sends its own
// queue message when the core says so (on creation, and from the alarm that re-sends a job
// whose message was lost or whose holder vanished).
export class Job extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.state = undefined;
    ctx.blockConcurrencyWhile(async () => {
      this.state = (await ctx.storage.get("state")) ?? undefined;
    });
  }

  async call(op) {
    return this.run(op);
  }

  async alarm() {
    await this.run('{"op":"alarm"}');
  }

  async run(op) {
    const { storage } = this.ctx;
    const r = JSON.parse(job_apply(this.state, op, Date.now()));
    if (r.drop) {
      // A finished job past its retention: the object keeps nothing, and answers as unknown.
      this.state = undefined;
      await storage.deleteAll();
      return JSON.stringify(r.reply);
    }
    if (r.state !== undefined) {
      this.state = r.state;
      storage.put("state", r.state);
    }
    if (r.alarm === 0) storage.deleteAlarm();
    else if (r.alarm !== undefined) storage.setAlarm(r.alarm);
    if (r.send) {
      // A failed send is not the caller's failure: the alarm sends the message again.
      await this.env.JOBS.send(r.send).catch((e) => console.error("switchyard: job message not sent", String(e)));
    }
    // The tenant's queue depth (`/v1/stats`): one job in, or one out for good.
    if (r.tenant && this.env.TENANTS) await objectCall(this.env.TENANTS, r.tenant.name, r.tenant.op, "tenant object (queue depth)");
    if (r.webhook) {
      // Not awaited: the webhook never holds up, nor changes, the job's own outcome. Its try
      // is already counted and the next one set as the alarm, so an eviction mid-POST only
      // delays it.
      const sent = this.deliver(r.webhook);
      if (this.ctx.waitUntil) this.ctx.waitUntil(sent);
    }
    return JSON.stringify(r.reply);
  }

  // One try of a finished job's webhook (README, "Webhooks"): POST the job, signed per
  // Standard Webhooks with a fresh timestamp under the job's id, then report how it went.
  async deliver(w) {
    const secret = this.env[w.secret];
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = typeof secret === "string" ? webhook_signature(secret, w.id, timestamp, w.body) : undefined;
    let report = { op: "webhook", try: w.try, ok: false };
    if (!signature) {
      console.error("switchyard: webhook not sent: the secret is missing or not whsec_ + base64", w.secret);
      report.fatal = true;
    } else {
      const headers = { "content-type": "application/json", "webhook-id": w.id, "webhook-timestamp": String(timestamp), "webhook-signature": signature };
      try {
        const r = await fetch(w.url, { method: "POST", headers, body: w.body, redirect: "manual" });
        await r.body?.cancel();
        report.ok = r.ok;
        if (!r.ok) console.error("switchyard: webhook try failed", w.id, w.try, `HTTP ${r.status}`);
      } catch (e) {
        console.error("switchyard: webhook try failed", w.id, w.try, String(e));
      }
    }
    const end = JSON.parse(await this.run(JSON.stringify(report)));
    if (end?.delivered === false) console.error("switchyard: webhook given up", w.id, "after try", w.try);
  }
}

// One per model named by queued jobs: at most `limit` holders at once. Plain JavaScript on
// purpose: the whole logic is a count of unexpired leases (a holder that vanished frees its
// slot when its lease runs out), and a wasm call would cost more than it does.
export class Semaphore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.held = {};
    ctx.blockConcurrencyWhile(async () => {
      this.held = (await ctx.storage.get("held")) ?? {};
    });
  }

  // Take a slot for `token` until `now + leaseMs`; false when all `limit` are held.
  async acquire(token, limit, leaseMs) {
    const now = Date.now();
    for (const [t, until] of Object.entries(this.held)) if (until <= now) delete this.held[t];
    const ok = token in this.held || Object.keys(this.held).length < limit;
    if (ok) {
      this.held[token] = now + leaseMs;
      this.ctx.storage.put("held", this.held);
    }
    return ok;
  }

  async release(token) {
    delete this.held[token];
    this.ctx.storage.put("held", this.held);
  }
}
