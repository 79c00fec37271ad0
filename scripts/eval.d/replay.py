"""A replay upstream: an OpenAI-compatible `/v1/chat/completions` that answers a known GSM8K
prompt with the answer a model gave it, recorded in RouteLLM's `gsm8k_responses.csv`.

The prompt is the request's first user message; the model is the request's `model`, one of
the CSV's two (`mistralai/Mixtral-8x7B-Instruct-v0.1`, `gpt-4-1106-preview`). A cascade's
re-prompt (the same prompt, the answer, a note of what failed) is answered with the same
recorded answer: a replay cannot show what a re-prompt would have changed.

Usage is estimated at four characters a token (plus four tokens a message), as the recorded
data has no token counts. Standard library only; streams are not served (a cascade never asks
for one). Run alone: `python3 replay.py CSV [PORT]`.
"""

import csv
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG = "gpt-4-1106-preview"
MODELS = (WEAK, STRONG)


def load(path):
    """The CSV's rows by prompt."""
    csv.field_size_limit(1 << 24)
    with open(path, newline="", encoding="utf-8") as f:
        return {row["prompt"]: row for row in csv.DictReader(f)}


def tokens(text):
    return (len(text) + 3) // 4


def text_of(content):
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def error(status, message, code):
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def answer(rows, body):
    """(status, JSON reply) for one chat completions request body."""
    model = body.get("model")
    if model not in MODELS:
        return error(404, f"the replay knows only {', '.join(MODELS)}", "model_not_found")
    if body.get("stream"):
        return error(400, "the replay does not stream", "unsupported")
    messages = body.get("messages") or []
    prompt = next((text_of(m.get("content")) for m in messages if m.get("role") == "user"), "")
    row = rows.get(prompt)
    if row is None:
        return error(400, "not a recorded prompt", "unknown_prompt")
    text = row[model + "_response"].strip()
    prompt_tokens = sum(4 + tokens(text_of(m.get("content"))) for m in messages)
    completion_tokens = tokens(text)
    return 200, {
        "id": "chatcmpl-replay", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


class Replay:
    """The server, on 127.0.0.1 (port 0: any free one), counting calls per model."""

    def __init__(self, rows, port=0):
        self.rows = rows
        self.calls = {m: 0 for m in MODELS}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()

    def _handler(self):
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                if self.path.rstrip("/") != "/v1/chat/completions":
                    status, reply = error(404, "unknown path", "not_found")
                else:
                    status, reply = answer(replay.rows, body)
                if status == 200:
                    with replay.lock:
                        replay.calls[body["model"]] += 1
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


if __name__ == "__main__":
    r = Replay(load(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(f"replaying on http://127.0.0.1:{r.port}/v1", flush=True)
    r.server.serve_forever()
