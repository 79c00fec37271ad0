// The driver's plain I/O helpers: header blocks, the built-in mock's playback, reads with an
// idle bound, KV operations, sub-requests and Durable Object calls. Nothing here decides
// anything; the core does (see entry.js).

export const EMPTY = new Uint8Array(0);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const isTimeout = (e) => e?.name === "TimeoutError" || e?.name === "AbortError";

// Headers cross into wasm as one block of `name:value` lines (one crossing, not two per header).
export function headerBlock(headers) {
  let block = "";
  for (const [k, v] of headers) block += k + ":" + v + "\n";
  return block;
}

// The header block of an upstream response: only the headers the core reads, by name.
export function upstreamBlock(headers, names) {
  let block = "";
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) block += name + ":" + value + "\n";
  }
  return block;
}

// The path and query of a request URL, without parsing it: the URL workerd hands a worker is
// always absolute (`scheme://host/path?query`).
export function pathAndQuery(url) {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash);
}



// The built-in mock upstream, played back with real timers so delays and chunk spacing are
// real. Its frames arrive as one buffer; `a.frames` holds their lengths.
export async function playMock(a, bytes) {
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
export function readWithin(reader, ms) {
  if (!ms) return reader.read();
  let timer;
  const idle = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new DOMException("stream idle", "TimeoutError")), ms);
  });
  return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
}

// One op (JSON) on the Durable Object `name` of a namespace; its answer, or undefined when
// it cannot be reached.
export async function objectCall(namespace, name, op, what) {
  try {
    return await namespace.get(namespace.idFromName(name)).call(op);
  } catch (e) {
    console.error(`switchyard: ${what} unreachable`, String(e));
    return undefined;
  }
}

// A sub-request the core makes for itself (an embedding, a judge, a summary): [status, body]
// (status 0: no answer).
export async function subcall(a, body) {
  try {
    const r = await fetch(a.url, { method: "POST", headers: a.headers, body, signal: AbortSignal.timeout(a.timeout_ms) });
    return [r.status, new Uint8Array(await r.arrayBuffer())];
  } catch {
    return [0, EMPTY];
  }
}

// One operation on the KEYS namespace; the result goes back to the core as a string.
export async function kvStep(kv, a) {
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

