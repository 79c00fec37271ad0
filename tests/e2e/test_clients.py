"""Real clients against the gateway, with the settings the README gives: Claude Code (the
`claude` CLI, offline), the Vercel AI SDK (a Node script) and LangChain (`ChatOpenAI`,
`ChatAnthropic`). Each is pinned: npm packages in package.json, Python ones in
requirements.txt."""

import json
import os
import subprocess

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from conftest import DEV_KEY, ROOT

CLAUDE = ROOT / "node_modules/.bin/claude"
NODE_TIMEOUT = 120


def words(text):
    return text.split()


# ---- Claude Code ----

def claude_code(gateway, tmp_path, model, prompt, *args):
    """One `claude -p` run against the gateway, with no network but the gateway: a fresh HOME,
    telemetry, updates and other traffic off. Returns the parsed `--output-format json` result."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.url,
        "ANTHROPIC_AUTH_TOKEN": DEV_KEY,
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    r = subprocess.run([str(CLAUDE), "-p", prompt, "--output-format", "json", *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=NODE_TIMEOUT, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["is_error"] is False and out["subtype"] == "success", out
    return out


def claude_code_calls(upstream, tag):
    """The Anthropic upstream's calls whose conversation holds `tag`."""
    return [c for c in upstream.calls if c["wire"] == "anthropic" and tag in json.dumps(c["body"].get("messages"))]


def test_claude_code_through_to_an_anthropic_upstream(gateway, upstream, tmp_path):
    # Claude Code's request (system blocks with cache_control, a `role: system` message,
    # thinking, output_config, context_management, anthropic-beta) reaches the Anthropic
    # upstream, whose echo of the last user turn comes back as the result. No tools: the mock
    # upstream calls a tool whenever it is offered one, which would never end.
    out = claude_code(gateway, tmp_path, "claude-ok", "Say clients-cc-1", "--tools", "")
    assert out["result"].strip().endswith("Say clients-cc-1")
    [call] = claude_code_calls(upstream, "Say clients-cc-1")
    body = call["body"]
    assert call["path"].split("?")[0] == "/v1/messages" and body["stream"] is True
    assert "Claude" in json.dumps(body["system"]) and "# Environment" in json.dumps(body["system"])
    assert all(m["role"] in ("user", "assistant") for m in body["messages"])
    assert {"thinking", "output_config"} <= set(body)


def test_claude_code_with_the_mock(gateway, tmp_path):
    # No tools: the mock's text (a token a word), the same for the same prompt.
    out = claude_code(gateway, tmp_path, "mock", "What is a gateway?", "--tools", "")
    assert 8 <= len(words(out["result"])) <= 31
    assert out["usage"]["output_tokens"] == len(words(out["result"]))
    again = claude_code(gateway, tmp_path, "mock", "What is a gateway?", "--tools", "")
    assert again["result"] == out["result"]


def test_claude_code_tool_loop_with_the_mock(gateway, tmp_path):
    # Claude Code offers Read and a deferred placeholder (`defer_loading`, "never call this
    # tool"), which no model may see: the mock calls the first tool it is given, Read; Claude
    # Code runs it and sends the result back, and the mock's answer reports it.
    out = claude_code(gateway, tmp_path, "mock", "Read the notes file.", "--tools", "Read")
    assert out["num_turns"] == 2
    assert out["result"].startswith("Based on the tool results: Read returned")


# ---- Vercel AI SDK ----

@pytest.fixture(scope="module")
def vercel(gateway):
    r = subprocess.run(["node", str(ROOT / "tests/e2e/vercel_ai.mjs"), gateway.url, DEV_KEY], cwd=ROOT,
                       capture_output=True, text=True, timeout=NODE_TIMEOUT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("case", ["openai_generate", "openai_stream", "responses_generate", "responses_stream",
                                  "anthropic_mock_generate", "anthropic_mock_stream"])
def test_vercel_ai_text_from_the_mock(vercel, case):
    r = vercel[case]
    assert "error" not in r, r
    assert r["finishReason"] == "stop" and 8 <= len(words(r["text"])) <= 31
    assert r["usage"]["outputTokens"] == len(words(r["text"]))
    assert r["usage"]["inputTokens"] > 0


def test_vercel_ai_same_prompt_same_text_generated_or_streamed(vercel):
    assert vercel["openai_generate"]["text"] == vercel["openai_stream"]["text"]
    assert vercel["responses_generate"]["text"] == vercel["responses_stream"]["text"] == vercel["openai_generate"]["text"]
    assert vercel["anthropic_mock_generate"]["text"] == vercel["anthropic_mock_stream"]["text"]


@pytest.mark.parametrize("case", ["anthropic_claude_generate", "anthropic_claude_stream"])
def test_vercel_ai_anthropic_upstream(vercel, case):
    r = vercel[case]
    assert "error" not in r, r
    assert r["text"].strip() == "echo: What is a gateway?" and r["finishReason"] == "stop"


def test_vercel_ai_tool_loop_ends_with_text(vercel):
    r = vercel["openai_tools"]
    assert "error" not in r, r
    first, last = r["steps"][0], r["steps"][-1]
    assert first["finishReason"] == "tool-calls" and first["toolCalls"] == ["weather"]
    assert first["toolResults"][0].startswith("sunny in ")
    assert len(r["steps"]) == 2 and last["finishReason"] == "stop"
    assert r["text"].startswith("Based on the tool results: weather returned sunny in ")
    for case in ("responses_tools", "anthropic_tools"):
        a = vercel[case]
        assert "error" not in a, a
        assert a["steps"] == 2 and a["text"].startswith("Based on the tool results: weather returned sunny in ")


@pytest.mark.parametrize("case", ["openai_object", "responses_object"])
def test_vercel_ai_generate_object(vercel, case):
    r = vercel[case]
    assert "error" not in r, r
    o = r["object"]
    assert isinstance(o["city"], str) and isinstance(o["population"], int) and o["population"] >= 0
    assert len(o["tags"]) >= 2 and r["finishReason"] == "stop"


# ---- LangChain ----

class City(BaseModel):
    name: str
    population: int = Field(ge=0)
    districts: list[str] = Field(min_length=2)


@tool
def get_weather(city: str) -> str:
    """Weather for a city."""
    return "sunny"


@pytest.fixture(scope="module")
def lc_openai(gateway):
    return ChatOpenAI(base_url=gateway.url + "/v1", api_key=DEV_KEY, model="mock", max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def lc_anthropic(gateway):
    return ChatAnthropic(base_url=gateway.url, api_key=DEV_KEY, model="mock", max_retries=0, timeout=30)


def text_of(chunk):
    if isinstance(chunk.content, str):
        return chunk.content
    return "".join(b.get("text", "") for b in chunk.content if isinstance(b, dict))


@pytest.mark.parametrize("llm", ["lc_openai", "lc_anthropic"])
def test_langchain_invoke_and_stream(llm, request):
    llm = request.getfixturevalue(llm)
    whole = llm.invoke("What is a gateway?")
    text = text_of(whole)
    assert 8 <= len(words(text)) <= 31
    assert whole.usage_metadata["output_tokens"] == len(words(text)) and whole.usage_metadata["input_tokens"] > 0
    assert "".join(text_of(c) for c in llm.stream("What is a gateway?")) == text


def test_langchain_structured_output(lc_openai):
    city = lc_openai.with_structured_output(City).invoke("Describe Oslo.")
    assert isinstance(city, City) and len(city.districts) >= 2


@pytest.mark.parametrize("llm", ["lc_openai", "lc_anthropic"])
def test_langchain_bind_tools(llm, request):
    llm = request.getfixturevalue(llm).bind_tools([get_weather])
    ask = [("user", "Weather in Oslo?")]
    msg = llm.invoke(ask)
    [call] = msg.tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
    answer = llm.invoke(ask + [msg, get_weather.invoke(call)])
    assert text_of(answer).startswith("Based on the tool results: get_weather returned sunny.")
