"""A mock upstream for end-to-end tests that speaks three wire formats: OpenAI Chat
Completions (`/v1/chat/completions`), Anthropic Messages (`/v1/messages`, checking
`x-api-key` and `anthropic-version`; `/v1/messages/count_tokens` answers COUNTED_TOKENS) and
Gemini (`/v1beta/models/M:generateContent` and `:streamGenerateContent?alt=sse`, checking
`x-goog-api-key`). Behaviour is chosen per request by the upstream model id the gateway sends
(the test config maps public names to these ids):

    ok             a deterministic answer (a tool call when tools are offered)
    status-NNN     an OpenAI-shaped error with status NNN (429 adds retry-after: 2)
    echo-key-401   a 401 whose message repeats the API key it received, as some providers do
    sleep-MS       answers after MS milliseconds
    malformed      200 with a body that is not JSON
    cut            a stream that stops after two chunks, without [DONE]
    slow-stream    five chunks 150 ms apart
    window-8k      a model with an 8,192-token window: a request whose messages (4 characters a
                   token, 4 tokens a message) and output cap exceed it gets OpenAI's 400
                   `context_length_exceeded`
    summarize      answers with a short summary ("summary of N lines")
    final-number   answers with a worked answer ending in GSM8K's final line `#### 42`
    judge          a judge gate's grader: `{"score": 1.0, ...}` when the graded answer (between
                   `<answer>` and `</answer>`) has "####", else `{"score": 0.1, ...}`
    judge-garbled  a grader that answers with no score
    slow-count...  answers after 200 ms, counting the calls in flight per model id (see
                   `in_flight`, `max_in_flight`): what a concurrency limit must bound
    once-429       a 429 (retry-after: 1) the first time it sees a prompt, then answers

on OpenAI's Responses API (`/v1/responses`, the passthrough wire), `ok` answers with a
reasoning item and the echo of the last user text, or a function call when tools are offered
(text quoting the output once the input ends with a function call's output), and `cut` stops
its stream after three events; on the OpenAI wire only, `kimi-ids`: tool call ids as Kimi issues them (`functions.NAME:0`),
which a later turn must send back unchanged; on the Anthropic wire, tool ids must match
Anthropic's pattern (400 otherwise), and only there:

    rich           an answer with what only Anthropic carries: a thinking block with its
                   signature, a text block with a citation, cache reads in the usage and a
                   `stop_sequence` stop (see RICH_*)

and on the Gemini wire only:

    key-invalid      Gemini's 400 INVALID_ARGUMENT with reason API_KEY_INVALID, quoting the key
    echo-key-400     a 400 INVALID_ARGUMENT (no reason: the caller's fault) whose message quotes
                     the key in forms a word filter misses (in a URL, cut into pieces)
    stream-echo-key  a stream that sends one chunk, then an in-band error quoting the key

Like Gemini, every Gemini call is refused (400 INVALID_ARGUMENT) if a schema (a tool's
`parameters`, `responseSchema`) uses a keyword outside Gemini's Schema object, or if a model
turn's first `functionCall` part lacks the `thoughtSignature` the mock gave that call; function
calls come with such a signature, and a turn ending in a tool result is answered with text.
`:batchEmbedContents` refuses more than 100 requests. Azure OpenAI embeddings are answered on
`/openai/deployments/D/embeddings?api-version=V` (checking the `api-key` header).

On every wire, an upstream model id `fx.<vendor>.<case>` answers with the reply of the
conformance fixture `tests/fixtures/<vendor>/<case>.json` (see its README).

Every call is recorded (headers, JSON body, times) so tests can count upstream calls.
"""

import base64
import json
import re
from pathlib import Path
import zlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Upstream:
    def __init__(self):
        self.calls = []
        self.webhooks = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()

    def webhook(self, h, raw):
        """Record a webhook POST; a path holding "flaky" answers 503 to its first POST."""
        hook = {"path": h.path, "headers": {k.lower(): v for k, v in h.headers.items()}, "raw": raw, "received": time.time()}
        with self.lock:
            first = not any(w["path"] == h.path for w in self.webhooks)
            self.webhooks.append(hook)
        status = 503 if first and "flaky" in h.path else 204
        h.send_response(status)
        h.send_header("content-length", "0")
        h.end_headers()

    def webhooks_to(self, path):
        with self.lock:
            return [w for w in self.webhooks if w["path"] == path]

    def calls_for(self, model):
        with self.lock:
            return [c for c in self.calls if c["model"] == model]

    def _handler(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                if self.path.startswith("/webhook/"):
                    return upstream.webhook(self, raw)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                call = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "received": time.time()}
                if self.path.startswith("/openai/deployments/"):
                    call["model"] = self.path.split("/")[3]
                    call["wire"] = "azure"
                    with upstream.lock:
                        upstream.calls.append(call)
                    return azure_embeddings(self, body)
                if self.path.startswith("/v1beta/models/"):
                    call["model"] = self.path.split("/")[3].split(":")[0]
                    call["wire"] = "gemini"
                else:
                    call["model"] = body.get("model")
                    call["wire"] = "anthropic" if self.path.startswith("/v1/messages") else "openai"
                    if self.path == "/v1/responses":
                        call["wire"] = "responses"
                with upstream.lock:
                    upstream.calls.append(call)
                if str(call["model"]).startswith("fx."):
                    return serve_fixture(self, call["model"])
                if self.path == "/v1/embeddings":
                    return openai_embeddings(self, body)
                if self.path.endswith(":batchEmbedContents"):
                    return gemini_embeddings(self, body)
                if call["wire"] == "anthropic":
                    return anthropic_behave(self, body, call)
                if call["wire"] == "responses":
                    return responses_behave(self, body)
                if call["wire"] == "gemini":
                    return gemini_behave(self, body, call)
                behave(self, body, call)

        return Handler


def answer_text(body):
    last = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), {})
    content = last.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return f"echo: {content}"


def context_tokens(body):
    """What a request takes of a window: its messages' text at 4 characters a token, 4 tokens a
    message, and its output cap."""
    total = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    for m in body.get("messages", []):
        content = m.get("content") or ""
        text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        total += 4 + len(text) // 4 + len(json.dumps(m.get("tool_calls") or [])) // 4
    return total


def reported_usage(call):
    """The (prompt, completion) tokens this upstream reported for a recorded OpenAI call."""
    body = call["body"]
    if body.get("stream"):
        return 11, len(answer_text(body).split(" "))
    return 11, 5


def completion(body):
    tools = body.get("tools") or []
    message = {"role": "assistant", "content": answer_text(body), "refusal": None}
    finish = "stop"
    if tools and body.get("tool_choice") != "none":
        name = tools[0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_up_1", "type": "function", "function": {"name": name, "arguments": "{\"city\": \"Oslo\"}"}}]}
        finish = "tool_calls"
    return {
        "id": "chatcmpl-up-1", "object": "chat.completion", "created": 1_700_000_000, "model": body.get("model"),
        "system_fingerprint": "fp_up",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    }


def chunk(model, delta, finish=None, usage=None, choices=True):
    c = {"id": "chatcmpl-up-1", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
    if usage:
        c["usage"] = usage
    return ("data: " + json.dumps(c) + "\n\n").encode()


def send_json(h, status, obj, extra_headers=()):
    data = json.dumps(obj).encode()
    h.send_response(status)
    h.send_header("content-type", "application/json")
    h.send_header("content-length", str(len(data)))
    for k, v in extra_headers:
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(data)


def send_stream(h, body, call, words, interval=0.0, cut=False):
    model = body.get("model")
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.send_header("connection", "close")
    h.end_headers()
    frames = [chunk(model, {"role": "assistant", "content": ""})]
    tools = body.get("tools") or []
    if tools and body.get("tool_choice") != "none":
        name = tools[0]["function"]["name"]
        frames.append(chunk(model, {"tool_calls": [{"index": 0, "id": "call_up_1", "type": "function", "function": {"name": name, "arguments": ""}}]}))
        frames.append(chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}))
        frames.append(chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}))
        frames.append(chunk(model, {}, finish="tool_calls"))
    else:
        frames += [chunk(model, {"content": w}) for w in words]
        frames.append(chunk(model, {}, finish="stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        frames.append(chunk(model, {}, usage={"prompt_tokens": 11, "completion_tokens": len(words), "total_tokens": 11 + len(words)}, choices=False))
    frames.append(b"data: [DONE]\n\n")
    if cut:
        frames = frames[:2]
    for i, f in enumerate(frames):
        if i and interval:
            time.sleep(interval)
        h.wfile.write(f)
        h.wfile.flush()
    call["finished"] = time.time()
    h.close_connection = True


def error(status, message, code):
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


SEEN = {}
# Calls in flight and the most seen at once, per `slow-count...` model id.
IN_FLIGHT = {}
MAX_IN_FLIGHT = {}
COUNT_LOCK = threading.Lock()


def max_in_flight(model):
    with COUNT_LOCK:
        return MAX_IN_FLIGHT.get(model, 0)


def counted_sleep(model, seconds):
    with COUNT_LOCK:
        IN_FLIGHT[model] = IN_FLIGHT.get(model, 0) + 1
        MAX_IN_FLIGHT[model] = max(MAX_IN_FLIGHT.get(model, 0), IN_FLIGHT[model])
    try:
        time.sleep(seconds)
    finally:
        with COUNT_LOCK:
            IN_FLIGHT[model] -= 1


def behave(h, body, call):
    model = str(body.get("model", ""))
    if model in WIRE_QUIRKS:
        return WIRE_QUIRKS[model](h, body)
    if model.startswith("slow-count"):
        counted_sleep(model, 0.2)
    if model == "once-429":
        prompt = json.dumps(body.get("messages"))
        with COUNT_LOCK:
            SEEN[prompt] = SEEN.get(prompt, 0) + 1
            first = SEEN[prompt] == 1
        if first:
            return send_json(h, 429, error(429, "slow down", "rate_limit_exceeded"), [("retry-after", "1")])
    if model == "flaky-429":
        # Fails the first time it sees a prompt (429, retry-after: 1), then answers.
        prompt = json.dumps(body.get("messages"))
        SEEN[prompt] = SEEN.get(prompt, 0) + 1
        if SEEN[prompt] == 1:
            return send_json(h, 429, error(429, "slow down", "rate_limit_exceeded"), [("retry-after", "1")])
    if model == "window-8k":
        used = context_tokens(body)
        if used > 8192:
            return send_json(h, 400, {"error": {"message": f"This model's maximum context length is 8192 tokens. However, you requested {used} tokens.",
                                                 "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
    if model == "summarize":
        lines = sum(m.get("content", "").count("\n") for m in body.get("messages", []) if isinstance(m.get("content"), str))
        reply = completion(body)
        reply["choices"][0]["message"]["content"] = f"summary of {lines} lines"
        return send_json(h, 200, reply)
    if model == "final-number":
        reply = completion(body)
        reply["choices"][0]["message"]["content"] = "Six times seven is 42.\n#### 42"
        return send_json(h, 200, reply)
    if model in ("judge", "judge-garbled"):
        # Scores the gateway's judge request by a rule: 1.0 when the answer has "####", else 0.1.
        asked = body["messages"][-1]["content"]
        answer = asked.split("<answer>\n", 1)[-1].rsplit("\n</answer>", 1)[0]
        score = 1.0 if "####" in answer else 0.1
        reply = completion(body)
        reply["choices"][0]["message"]["content"] = "I would rather not say." if model == "judge-garbled" else \
            json.dumps({"score": score, "reason": "it has a final line" if score == 1.0 else "it has no final line"})
        return send_json(h, 200, reply)
    if model.startswith("status-"):
        status = int(model.split("-")[1])
        headers = [("retry-after", "2")] if status == 429 else []
        return send_json(h, status, error(status, f"upstream says {status}", f"code_{status}"), headers)
    if model == "echo-key-401":
        key = h.headers.get("authorization", "").removeprefix("Bearer ")
        return send_json(h, 401, error(401, f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_api_key"))
    if model == "slow-fail":
        time.sleep(0.3)
        return send_json(h, 500, error(500, "upstream says 500 slowly", "code_500"))
    if model.startswith("sleep-"):
        time.sleep(int(model.split("-")[1]) / 1000)
    if model == "malformed":
        data = b'{"id": "x", "choices": [ {'
        h.send_response(200)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        return h.wfile.write(data)
    if body.get("stream"):
        words = answer_text(body).split(" ")
        words = [w + " " for w in words[:-1]] + words[-1:]
        if model == "slow-stream":
            return send_stream(h, body, call, ["one ", "two ", "three ", "four ", "five"], interval=0.15)
        return send_stream(h, body, call, words, cut=(model == "cut"))
    return send_json(h, 200, completion(body))


def send_frames(h, frames):
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.send_header("connection", "close")
    h.end_headers()
    for f in frames + ["[DONE]"]:
        h.wfile.write(("data: " + (f if isinstance(f, str) else json.dumps(f)) + "\n\n").encode())
    h.wfile.flush()
    h.close_connection = True


def usage_frame(body, base):
    """The usage-only final chunk, when the request asked for it."""
    if (body.get("stream_options") or {}).get("include_usage"):
        return [dict(base, choices=[], usage={"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14})]
    return []


def rich(h, body):
    """Fields the gateway does not model: system_fingerprint, service_tier, logprobs, a refusal delta."""
    base = {"id": "chatcmpl-rich", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": body.get("model"),
            "system_fingerprint": "fp_rich", "service_tier": "default"}
    lp = lambda tok: {"content": [{"token": tok, "logprob": -0.25, "bytes": list(tok.encode()), "top_logprobs": []}]}
    usage = {"usage": None} if (body.get("stream_options") or {}).get("include_usage") else {}
    choice = lambda delta, finish=None, logprobs=None: dict(base, choices=[{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}], **usage)
    if not body.get("stream"):
        return send_json(h, 200, dict(completion(body), system_fingerprint="fp_rich", service_tier="default"))
    send_frames(h, [choice({"role": "assistant", "content": "rich "}, logprobs=lp("rich ")), choice({"content": "text"}, logprobs=lp("text")),
                    choice({"refusal": "no more"}), choice({}, finish="stop")] + usage_frame(body, base))


def parts(h, body):
    """Content as an array of parts, as Mistral's reasoning models send it."""
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "let me think"}]}
    if not body.get("stream"):
        c = completion(body)
        c["choices"][0]["message"]["content"] = [thinking, {"type": "text", "text": "parts "}, {"type": "text", "text": "answer"}]
        return send_json(h, 200, c)
    base = {"id": "chatcmpl-parts", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": body.get("model")}
    choice = lambda delta, finish=None: dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])
    send_frames(h, [choice({"role": "assistant", "content": [thinking]}), choice({"content": [{"type": "text", "text": "parts "}]}),
                    choice({"content": [{"type": "text", "text": "answer"}]}), choice({}, finish="stop")] + usage_frame(body, base))


def empty_finish(h, body):
    """finish_reason "" on every chunk until the last, with tool-call deltas."""
    base = {"id": "chatcmpl-ef", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": body.get("model")}
    choice = lambda delta, finish="": dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])
    call = lambda f, **kw: {"tool_calls": [dict({"index": 0, "function": f}, **kw)]}
    if not body.get("stream"):
        c = completion(body)
        c["choices"][0]["message"] = {"role": "assistant", "content": "no tools here"}
        c["choices"][0]["finish_reason"] = ""
        return send_json(h, 200, c)
    send_frames(h, [choice(dict({"role": "assistant"}, **call({"name": "get_weather", "arguments": ""}, id="call_ef", type="function"))),
                    choice(call({"arguments": "{\"city\": "})), choice(call({"arguments": "\"Oslo\"}"})),
                    choice({}, finish="tool_calls")] + usage_frame(body, base))


def kimi_ids(h, body):
    """Tool call ids as Kimi and some vLLM parsers issue them (`functions.NAME:0`); a later
    turn must send the id back exactly as issued."""
    messages = body.get("messages", [])
    if messages and messages[-1].get("role") == "tool":
        issued = [c["id"] for m in messages for c in m.get("tool_calls") or []]
        if messages[-1].get("tool_call_id") not in issued or not all(i.startswith("functions.") for i in issued):
            return send_json(h, 400, error(400, f"tool_call_id {messages[-1].get('tool_call_id')} was never issued", "invalid_request_error"))
        return send_json(h, 200, completion({"model": body["model"], "messages": [{"role": "user", "content": "done"}]}))
    name = body["tools"][0]["function"]["name"]
    answer = completion(body)
    answer["choices"][0]["message"]["tool_calls"][0]["id"] = f"functions.{name}:0"
    send_json(h, 200, answer)


WIRE_QUIRKS = {"rich": rich, "parts": parts, "empty-finish": empty_finish, "kimi-ids": kimi_ids}


# ---- OpenAI Responses (https://platform.openai.com/docs/api-reference/responses) ----

RESPONSES_USAGE = {"input_tokens": 13, "input_tokens_details": {"cached_tokens": 2}, "output_tokens": 4,
                   "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 17}


def responses_output(body):
    """The output items the `ok` model answers with."""
    items = body.get("input") if isinstance(body.get("input"), list) else [{"role": "user", "content": body.get("input")}]
    reasoning = {"id": "rs_up_1", "type": "reasoning", "summary": [], "encrypted_content": "opaque"}
    if items and items[-1].get("type") == "function_call_output":
        text = "done: " + str(items[-1].get("output"))
    elif body.get("tools"):
        call = {"id": "fc_up_1", "type": "function_call", "status": "completed", "call_id": "call_rs_1",
                "name": body["tools"][0]["name"], "arguments": "{\"city\": \"Oslo\"}"}
        return [reasoning, call]
    else:
        last = next((i for i in reversed(items) if i.get("role") == "user"), {})
        content = last.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content)
        text = f"echo: {content}"
    message = {"id": "msg_up_1", "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    return [reasoning, message]


def responses_behave(h, body):
    model = str(body.get("model", ""))
    if h.headers.get("authorization") is None:
        return send_json(h, 401, error(401, "no key", "invalid_api_key"))
    if model.startswith("status-"):
        status = int(model.split("-")[1])
        return send_json(h, status, error(status, f"upstream says {status}", f"code_{status}"))
    response = {"id": "resp_up_1", "object": "response", "created_at": 1_700_000_000, "status": "completed", "error": None,
                "incomplete_details": None, "model": model, "output": responses_output(body), "usage": RESPONSES_USAGE,
                "store": body.get("store", True)}
    if not body.get("stream"):
        return send_json(h, 200, response)
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.send_header("connection", "close")
    h.end_headers()
    start = dict(response, status="in_progress", output=[], usage=None)
    events = [("response.created", {"response": start}), ("response.in_progress", {"response": start})]
    for i, item in enumerate(response["output"]):
        events.append(("response.output_item.added", {"output_index": i, "item": item}))
        if item["type"] == "message":
            text = item["content"][0]["text"]
            for w in text.split(" "):
                events.append(("response.output_text.delta", {"item_id": item["id"], "output_index": i, "content_index": 0,
                                                              "delta": w + " ", "logprobs": []}))
        events.append(("response.output_item.done", {"output_index": i, "item": item}))
    events.append(("response.completed", {"response": response}))
    if model == "cut":
        events = events[:3]
    for n, (name, data) in enumerate(events):
        data = dict(data, type=name, sequence_number=n)
        h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        h.wfile.flush()
    h.close_connection = True


# ---- Anthropic Messages ----

def anthropic_text(body):
    last = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), {})
    content = last.get("content")
    if isinstance(content, list):
        content = " ".join(b.get("text", "") for b in content if b.get("type") == "text")
    return f"echo: {content}"


def anthropic_error(h, status, kind, message):
    send_json(h, status, {"type": "error", "error": {"type": kind, "message": message}},
              [("retry-after", "2")] if status == 429 else [])


def sse_event(h, name, data):
    h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
    h.wfile.flush()


# What `/v1/messages/count_tokens` answers for a model that counts (any but status-NNN).
COUNTED_TOKENS = 42
# The fields `/v1/messages/count_tokens` accepts; it refuses the rest with a 400.
COUNT_FIELDS = {"model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "cache_control",
                "context_management", "mcp_servers", "speed"}


def anthropic_behave(h, body, call):
    model = str(body.get("model", ""))
    if h.headers.get("x-api-key") is None or h.headers.get("anthropic-version") != "2023-06-01":
        return anthropic_error(h, 401, "authentication_error", "missing x-api-key or anthropic-version")
    if model.startswith("status-"):
        status = int(model.split("-")[1])
        kinds = {400: "invalid_request_error", 429: "rate_limit_error", 529: "overloaded_error"}
        return anthropic_error(h, status, kinds.get(status, "api_error"), f"upstream says {status}")
    if h.path == "/v1/messages/count_tokens":
        extra = set(body) - COUNT_FIELDS
        if extra:
            return anthropic_error(h, 400, "invalid_request_error", f"{sorted(extra)[0]}: Extra inputs are not permitted")
        return send_json(h, 200, {"input_tokens": COUNTED_TOKENS})
    if h.path != "/v1/messages":
        return anthropic_error(h, 404, "not_found_error", f"no route {h.path}")
    if model == "rich":
        return anthropic_rich(h, body)
    # Like Anthropic: every tool_use id and tool_use_id must match ^[a-zA-Z0-9_-]+$.
    for m in body.get("messages", []):
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            tool_id = b.get("id") if b.get("type") == "tool_use" else b.get("tool_use_id") if b.get("type") == "tool_result" else None
            if tool_id is not None and not re.fullmatch(r"[a-zA-Z0-9_-]+", tool_id):
                return anthropic_error(h, 400, "invalid_request_error", f"messages: tool id `{tool_id}` should match pattern '^[a-zA-Z0-9_-]+'")
    tools = body.get("tools") or []
    use_tool = tools and (body.get("tool_choice") or {}).get("type") != "none"
    usage = {"input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 0}
    if not body.get("stream"):
        content = [{"type": "text", "text": anthropic_text(body)}]
        if use_tool:
            content = [{"type": "tool_use", "id": "toolu_up_1", "name": tools[0]["name"], "input": {"city": "Oslo"}}]
        return send_json(h, 200, {"id": "msg_up_1", "type": "message", "role": "assistant", "model": model, "content": content,
                                  "stop_reason": "tool_use" if use_tool else "end_turn", "stop_sequence": None, "usage": usage})
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.send_header("connection", "close")
    h.end_headers()
    sse_event(h, "message_start", {"type": "message_start", "message": {"id": "msg_up_1", "type": "message", "role": "assistant", "content": [],
              "model": model, "stop_reason": None, "stop_sequence": None, "usage": dict(usage, output_tokens=1)}})
    if use_tool:
        sse_event(h, "content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_up_1", "name": tools[0]["name"], "input": {}}})
        sse_event(h, "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}})
        sse_event(h, "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}})
    else:
        sse_event(h, "content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        sse_event(h, "ping", {"type": "ping"})
        for w in anthropic_text(body).split(" "):
            sse_event(h, "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w + " "}})
            if model == "cut":
                h.close_connection = True
                return
    sse_event(h, "content_block_stop", {"type": "content_block_stop", "index": 0})
    sse_event(h, "message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use" if use_tool else "end_turn", "stop_sequence": None},
              "usage": {"output_tokens": 6}})
    sse_event(h, "message_stop", {"type": "message_stop"})
    h.close_connection = True


# What the `rich` model answers (in published shapes: https://docs.anthropic.com/en/docs/build-with-claude/streaming).
RICH_THINKING = "The user wants the colour."
RICH_SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
RICH_CITATION = {"type": "char_location", "cited_text": "The grass is green.", "document_index": 0,
                 "document_title": "Facts", "start_char_index": 0, "end_char_index": 19}
RICH_USAGE = {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048, "output_tokens": 1}


def anthropic_rich(h, body):
    stop = {"stop_reason": "stop_sequence", "stop_sequence": (body.get("stop_sequences") or ["###"])[0]}
    thinking = {"type": "thinking", "thinking": RICH_THINKING, "signature": RICH_SIGNATURE}
    text = {"type": "text", "text": "Green.", "citations": [RICH_CITATION]}
    base = {"id": "msg_rich_1", "type": "message", "role": "assistant", "model": "rich"}
    if not body.get("stream"):
        return send_json(h, 200, dict(base, content=[thinking, text], **stop, usage=dict(RICH_USAGE, output_tokens=9)))
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.send_header("connection", "close")
    h.end_headers()
    delta = lambda i, d: sse_event(h, "content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
    sse_event(h, "message_start", {"type": "message_start", "message": dict(base, content=[], stop_reason=None, stop_sequence=None, usage=RICH_USAGE)})
    sse_event(h, "content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
    delta(0, {"type": "thinking_delta", "thinking": RICH_THINKING})
    delta(0, {"type": "signature_delta", "signature": RICH_SIGNATURE})
    sse_event(h, "content_block_stop", {"type": "content_block_stop", "index": 0})
    sse_event(h, "content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": "", "citations": []}})
    delta(1, {"type": "citations_delta", "citation": RICH_CITATION})
    delta(1, {"type": "text_delta", "text": "Green."})
    sse_event(h, "content_block_stop", {"type": "content_block_stop", "index": 1})
    sse_event(h, "message_delta", {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 9}})
    sse_event(h, "message_stop", {"type": "message_stop"})
    h.close_connection = True


# ---- Gemini ----

def gemini_text(body):
    last = next((c for c in reversed(body.get("contents", [])) if c.get("role") == "user"), {})
    return "echo: " + " ".join(p.get("text", "") for p in last.get("parts", []) if "text" in p)


def gemini_key_echo(key):
    """An upstream message quoting `key` whole, in a URL, and in pieces: its head, its tail and
    its middle (https://ai.google.dev/gemini-api/docs/troubleshooting has the error shape)."""
    return f"Invalid value at 'contents[0]' for ?key={key}&alt=sse (head {key[:10]}…, tail …{key[-8:]}, middle {key[6:20]})"


def gemini_behave(h, body, call):
    model = call["model"]
    key = h.headers.get("x-goog-api-key")
    if key is None or "key=" in h.path:
        return send_json(h, 403, {"error": {"code": 403, "message": "key must be in x-goog-api-key", "status": "PERMISSION_DENIED"}})
    if model == "key-invalid":
        message = f"API key not valid: key={key}. Please pass a valid API key."
        return send_json(h, 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message}]}})
    if model == "echo-key-400":
        return send_json(h, 400, {"error": {"code": 400, "message": gemini_key_echo(key), "status": "INVALID_ARGUMENT"}})
    if model.startswith("status-"):
        status = int(model.split("-")[1])
        names = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
        return send_json(h, status, {"error": {"code": status, "message": f"upstream says {status}", "status": names.get(status, "UNKNOWN")}},
                         [("retry-after", "2")] if status == 429 else [])
    refusal = gemini_schema_fault(body) or gemini_signature_fault(body)
    if refusal:
        return send_json(h, 400, {"error": {"code": 400, "message": refusal, "status": "INVALID_ARGUMENT"}})
    decls = [d for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]
    usage = {"promptTokenCount": 9, "candidatesTokenCount": 4, "totalTokenCount": 13}
    contents = body.get("contents") or [{}]
    answered = [p["functionResponse"] for p in contents[-1].get("parts", []) if "functionResponse" in p]
    if answered:
        parts = [{"text": "done: " + json.dumps(answered[0]["response"], sort_keys=True)}]
    elif decls and (body.get("toolConfig") or {}).get("functionCallingConfig", {}).get("mode") != "NONE":
        name = decls[0]["name"]
        parts = [{"functionCall": {"name": name, "args": {"city": "Oslo"}}, "thoughtSignature": gemini_signature(name)}]
    else:
        parts = [{"text": gemini_text(body)}]
    if ":streamGenerateContent" not in h.path:
        return send_json(h, 200, {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                                  "usageMetadata": usage, "modelVersion": model, "responseId": "gem-1"})
    assert h.path.endswith("alt=sse")
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    h.send_header("connection", "close")
    h.end_headers()
    if model == "stream-echo-key":
        h.wfile.write(("data: " + json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": "partial "}]}, "index": 0}]}) + "\r\n\r\n").encode())
        h.wfile.write(("data: " + json.dumps({"error": {"code": 500, "message": gemini_key_echo(key), "status": "INTERNAL"}}) + "\r\n\r\n").encode())
        h.wfile.flush()
        h.close_connection = True
        return
    if "text" in parts[0]:
        words = parts[0]["text"].split(" ")
        chunks = [[{"text": w + (" " if i < len(words) - 1 else "")}] for i, w in enumerate(words)]
    else:
        chunks = [parts]
    for i, p in enumerate(chunks):
        last = i == len(chunks) - 1
        cand = {"content": {"role": "model", "parts": p}, "index": 0}
        if last and model != "cut":
            cand["finishReason"] = "STOP"
        h.wfile.write(("data: " + json.dumps({"candidates": [cand], "usageMetadata": usage, "modelVersion": model, "responseId": "gem-1"}) + "\r\n\r\n").encode())
        h.wfile.flush()
    h.close_connection = True


# Gemini's Schema object (https://ai.google.dev/api/caching#Schema): any other key is refused.
GEMINI_SCHEMA_KEYS = {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
                      "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example",
                      "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}


def schema_fault(schema, at):
    if not isinstance(schema, dict):
        return f"Invalid value at '{at}': not a Schema"
    for k, v in schema.items():
        if k not in GEMINI_SCHEMA_KEYS:
            return f'Invalid JSON payload received. Unknown name "{k}" at \'{at}\': Cannot find field.'
        if k == "type" and (not isinstance(v, str) or v.upper() not in {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"}):
            return f"Invalid value at '{at}.type' ({v!r})"
        if k == "enum" and not all(isinstance(e, str) for e in v):
            return f"Invalid value at '{at}.enum': only strings"
        nested = list(v.items()) if k == "properties" else [("items", v)] if k == "items" else \
            [(f"anyOf[{i}]", s) for i, s in enumerate(v)] if k == "anyOf" else []
        for name, sub in nested:
            fault = schema_fault(sub, f"{at}.{name}")
            if fault:
                return fault
    return None


def gemini_schema_fault(body):
    for i, d in enumerate(d for t in body.get("tools", []) for d in t.get("functionDeclarations", [])):
        if "parameters" in d:
            fault = schema_fault(d["parameters"], f"tools[0].function_declarations[{i}].parameters")
            if fault:
                return fault
    schema = (body.get("generationConfig") or {}).get("responseSchema")
    return schema_fault(schema, "generation_config.response_schema") if schema is not None else None


def gemini_signature(name):
    """The mock's thought signature for a call to `name`: base64 with `+`, `/` and padding."""
    return base64.b64encode(b"\xfb\xff" + name.encode() + b"-sig").decode()


def gemini_signature_fault(body):
    """Gemini 3's rule (https://ai.google.dev/gemini-api/docs/thought-signatures): a model
    turn's first functionCall part carries the signature it was given."""
    for i, c in enumerate(body.get("contents", [])):
        calls = [p for p in c.get("parts", []) if "functionCall" in p]
        if c.get("role") == "model" and calls and calls[0].get("thoughtSignature") != gemini_signature(calls[0]["functionCall"]["name"]):
            return f"Function call is missing a thought_signature in functionCall parts. Additional data, function call `default_api:{calls[0]['functionCall']['name']}`, position {i}."
    return None


# ---- Embeddings ----

def bag_of_words(text, dims=64):
    """An embedding where texts with the same words (any case, any punctuation) are identical."""
    v = [0.0] * dims
    for word in re.findall(r"[a-z]+", text.lower()):
        v[zlib.crc32(word.encode()) % dims] += 1.0
    return v


def openai_embeddings(h, body):
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dims = body.get("dimensions", 4)
    if body.get("model") == "bow-embedding":
        data = [{"object": "embedding", "index": i, "embedding": bag_of_words(t)} for i, t in enumerate(inputs)]
    else:
        data = [{"object": "embedding", "index": i, "embedding": [0.5] * dims} for i, _ in enumerate(inputs)]
    tokens = embedding_tokens(inputs)
    send_json(h, 200, {"object": "list", "data": data, "model": body.get("model"), "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def embedding_tokens(inputs):
    """The input tokens this upstream reports for an embeddings request: one per word."""
    return sum(len(t.split()) if isinstance(t, str) else 1 for t in inputs)


def gemini_embeddings(h, body):
    if h.headers.get("x-goog-api-key") is None:
        return send_json(h, 403, {"error": {"code": 403, "message": "no key", "status": "PERMISSION_DENIED"}})
    if len(body["requests"]) > 100:
        return send_json(h, 400, {"error": {"code": 400, "message": "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch",
                                            "status": "INVALID_ARGUMENT"}})
    embeddings = [{"values": [0.25] * r.get("outputDimensionality", 4)} for r in body["requests"]]
    send_json(h, 200, {"embeddings": embeddings})


# ---- Conformance fixtures ----

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixtures():
    """Every conformance fixture, sorted: ((vendor, case), its parsed JSON)."""
    return [((p.parent.name, p.stem), json.loads(p.read_text())) for p in sorted(FIXTURES.glob("*/*.json"))]


def serve_fixture(h, model):
    """Answer with the reply of fixture `fx.<vendor>.<case>` exactly as written, whatever the
    request asked: a `stream` fixture's events one write each, a `response` fixture's body."""
    _, vendor, case = model.split(".", 2)
    path = FIXTURES / vendor / f"{case}.json"
    if not path.is_file() or path.parent.parent != FIXTURES:
        return send_json(h, 404, error(404, f"no fixture {model}", "model_not_found"))
    f = json.loads(path.read_text())
    reply = f.get("stream") or f["response"]
    h.send_response(reply["status"])
    for k, v in reply["headers"].items():
        h.send_header(k, v)
    if "events" in reply:
        h.send_header("connection", "close")
        h.end_headers()
        for event in reply["events"]:
            h.wfile.write(event.encode())
            h.wfile.flush()
        h.close_connection = True
        return
    data = reply["body_text"].encode() if "body_text" in reply else json.dumps(reply["body"]).encode()
    h.send_header("content-length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)
def azure_embeddings(h, body):
    """Azure OpenAI's embeddings on a deployment: `api-key`, an `api-version`, no `model`."""
    if h.headers.get("api-key") is None or h.headers.get("authorization") or "api-version=" not in h.path or "model" in body:
        return send_json(h, 401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint."}})
    openai_embeddings(h, dict(body, model=h.path.split("/")[3]))
