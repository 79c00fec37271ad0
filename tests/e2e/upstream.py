"""A mock OpenAI-compatible upstream for end-to-end tests.

It speaks OpenAI's Chat Completions wire format. Behaviour is chosen per request by the
upstream model id the gateway sends (the test config maps public names to these ids):

    ok             a deterministic answer (a tool call when tools are offered)
    status-NNN     an OpenAI-shaped error with status NNN (429 adds retry-after: 2)
    echo-key-401   a 401 whose message repeats the API key it received, as some providers do
    sleep-MS       answers after MS milliseconds
    malformed      200 with a body that is not JSON
    cut            a stream that stops after two chunks, without [DONE]
    slow-stream    five chunks 150 ms apart

Every call is recorded (headers, JSON body, times) so tests can count upstream calls.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Upstream:
    def __init__(self):
        self.calls = []
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

    def calls_for(self, model):
        with self.lock:
            return [c for c in self.calls if c["body"].get("model") == model]

    def _handler(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                call = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "received": time.time()}
                with upstream.lock:
                    upstream.calls.append(call)
                behave(self, body, call)

        return Handler


def answer_text(body):
    last = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), {})
    content = last.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return f"echo: {content}"


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


def behave(h, body, call):
    model = str(body.get("model", ""))
    if model.startswith("status-"):
        status = int(model.split("-")[1])
        headers = [("retry-after", "2")] if status == 429 else []
        return send_json(h, status, error(status, f"upstream says {status}", f"code_{status}"), headers)
    if model == "echo-key-401":
        key = h.headers.get("authorization", "").removeprefix("Bearer ")
        return send_json(h, 401, error(401, f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_api_key"))
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
