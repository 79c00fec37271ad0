import wasmModule from "./pkg/hotpath_bg.wasm";
import { initSync, fetch_raw, transform, fetch as wfetch } from "./pkg/hotpath.js";
initSync({ module: wasmModule });
let UP;
export default {
  async fetch(request, env, ctx) {
    UP = env.UPSTREAM;
    const path = new URL(request.url).pathname;
    if (path === "/a") {
      const up = await fetch(UP, { method: "POST", body: request.body, headers: { "content-type": "application/json" } });
      return new Response(up.body, { status: up.status, headers: { "content-type": "application/json" } });
    }
    if (path === "/b") return wfetch(request, env, ctx);
    if (path === "/c") return fetch_raw(request, UP);
    const body = transform(new Uint8Array(await request.arrayBuffer()));
    const up = await fetch(UP, { method: "POST", body, headers: { "content-type": "application/json" } });
    const out = transform(new Uint8Array(await up.arrayBuffer()));
    return new Response(out, { headers: { "content-type": "application/json" } });
  },
};
