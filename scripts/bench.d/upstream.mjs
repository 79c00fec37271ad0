// A fixed-latency OpenAI-compatible upstream for benchmarks: answers at once (or after
// DELAY_MS), non-streaming or as a stream with CHUNK_MS between chunks.
import http from "node:http";

const port = Number(process.argv[2] || 9990);
const chunkMs = Number(process.env.CHUNK_MS || 20);
const completion = JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog." }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
});
const chunk = (delta, finish = null) =>
  "data: " + JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1700000000, model: "bench-model",
    choices: [{ index: 0, delta, finish_reason: finish }] }) + "\n\n";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

http.createServer((req, res) => {
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", async () => {
    const stream = Buffer.concat(parts).includes('"stream":true');
    if (!stream) {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) });
      return res.end(completion);
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(chunk({ role: "assistant", content: "" }));
    for (const w of ["The ", "quick ", "brown ", "fox."]) {
      await sleep(chunkMs);
      res.write(chunk({ content: w }));
    }
    res.write(chunk({}, "stop"));
    res.end("data: [DONE]\n\n");
  });
}).listen(port, "127.0.0.1");
