// The Vercel AI SDK against the gateway, as an application would use it. Run by
// test_clients.py: `node vercel_ai.mjs <gateway url> <key>`; prints one JSON object with what
// each call returned, for the test to check. A call that throws is reported, not fatal, so one
// failure does not hide the others.
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

// The SDK logs its warnings (unknown model ids) with console.info, on stdout.
globalThis.AI_SDK_LOG_WARNINGS = false;
const [base, apiKey] = process.argv.slice(2);
// `.chat(model)`: Chat Completions; `openai(model)` alone calls the Responses API.
const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey });
const anthropic = createAnthropic({ baseURL: `${base}/v1`, apiKey });
const prompt = "What is a gateway?";

const weather = tool({
  description: "Weather for a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});

async function streamed(model) {
  const r = streamText({ model, prompt });
  let text = "";
  for await (const delta of r.textStream) text += delta;
  return { text, finishReason: await r.finishReason, usage: await r.usage };
}

const cases = {
  openai_generate: async () => {
    const r = await generateText({ model: openai.chat("mock"), prompt });
    return { text: r.text, finishReason: r.finishReason, usage: r.usage };
  },
  openai_stream: () => streamed(openai.chat("mock")),
  openai_tools: async () => {
    const r = await generateText({ model: openai.chat("mock"), prompt: "Weather in Oslo?", tools: { weather }, stopWhen: stepCountIs(3) });
    return {
      text: r.text,
      finishReason: r.finishReason,
      steps: r.steps.map((s) => ({ finishReason: s.finishReason, toolCalls: s.toolCalls.map((c) => c.toolName), toolResults: s.toolResults.map((t) => t.output) })),
    };
  },
  openai_object: async () => {
    const schema = z.object({ city: z.string(), population: z.number().int().min(0), tags: z.array(z.string()).min(2) });
    const r = await generateObject({ model: openai.chat("mock"), schema, prompt: "Describe Oslo." });
    return { object: r.object, finishReason: r.finishReason };
  },
  responses_generate: async () => {
    const r = await generateText({ model: openai("mock"), prompt });
    return { text: r.text, finishReason: r.finishReason, usage: r.usage };
  },
  responses_stream: () => streamed(openai("mock")),
  responses_tools: async () => {
    const r = await generateText({ model: openai("mock"), prompt: "Weather in Oslo?", tools: { weather }, stopWhen: stepCountIs(3) });
    return { text: r.text, finishReason: r.finishReason, steps: r.steps.length };
  },
  responses_object: async () => {
    const schema = z.object({ city: z.string(), population: z.number().int().min(0), tags: z.array(z.string()).min(2) });
    const r = await generateObject({ model: openai("mock"), schema, prompt: "Describe Oslo." });
    return { object: r.object, finishReason: r.finishReason };
  },
  anthropic_mock_generate: async () => {
    const r = await generateText({ model: anthropic("mock"), prompt });
    return { text: r.text, finishReason: r.finishReason, usage: r.usage };
  },
  anthropic_mock_stream: () => streamed(anthropic("mock")),
  anthropic_claude_generate: async () => {
    const r = await generateText({ model: anthropic("claude-ok"), prompt });
    return { text: r.text, finishReason: r.finishReason, usage: r.usage };
  },
  anthropic_claude_stream: () => streamed(anthropic("claude-ok")),
  anthropic_tools: async () => {
    const r = await generateText({ model: anthropic("mock"), prompt: "Weather in Oslo?", tools: { weather }, stopWhen: stepCountIs(3) });
    return { text: r.text, finishReason: r.finishReason, steps: r.steps.length };
  },
};

const out = {};
for (const [name, run] of Object.entries(cases)) {
  try {
    out[name] = await run();
  } catch (e) {
    out[name] = { error: String(e?.message ?? e), status: e?.statusCode, body: e?.responseBody };
  }
}
process.stdout.write(JSON.stringify(out));
