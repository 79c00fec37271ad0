// A worker that calls nothing and answers every request with the same small JSON: what the
// runtime itself costs per request, and how its memory grows with requests served.
const BODY = '{"ok":true}';

export default {
  async fetch() {
    return new Response(BODY, { headers: { "content-type": "application/json" } });
  },
};
