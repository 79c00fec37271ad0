// The runtime's floor: the least any worker can do, forwarding the request to the upstream.
export default {
  async fetch(request, env) {
    const upstream = await fetch(env.UPSTREAM, { method: "POST", body: request.body, headers: { "content-type": "application/json" } });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
};
