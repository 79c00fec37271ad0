// The floor of Switchyard's design, without wasm: the I/O its driver performs for a
// pass-through request. The request body is read whole (the core decodes it), its headers
// are read (the core checks and uses them), the upstream is called with a header set and a
// timeout, its head is read by name and its body read whole (the core validates it), and the
// reply carries Switchyard's headers. What Switchyard costs beyond this row is the core.
const REPLY = [
  ["content-type", "application/json"], ["x-request-id", "req_0123456789abcdef"], ["x-switchyard-provider", "up"],
  ["x-switchyard-model", "bench-model"], ["x-switchyard-attempts", "1"], ["x-switchyard-cost-usd", "0.000000000"],
  ["x-switchyard-input-tokens", "12"], ["x-switchyard-output-tokens", "10"],
];
let seen = 0;

export default {
  async fetch(request, env) {
    const body = new Uint8Array(await request.arrayBuffer());
    for (const [k, v] of request.headers) seen += k.length + v.length;
    seen += new URL(request.url).pathname.length;
    const headers = new Headers();
    headers.append("content-type", "application/json");
    const upstream = await fetch(env.UPSTREAM, { method: "POST", body, headers, signal: AbortSignal.timeout(120_000) });
    for (const name of ["content-type", "retry-after", "retry-after-ms"]) seen += (upstream.headers.get(name) ?? "").length;
    const answer = new Uint8Array(await upstream.arrayBuffer());
    const reply = new Headers();
    for (const [k, v] of REPLY) reply.append(k, v);
    return new Response(answer, { status: upstream.status, headers: reply });
  },
};
