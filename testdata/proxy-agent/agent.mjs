// A small tool-calling agent on the official openai npm client, as someone
// outside the project would write one. It knows nothing of retrain: it reads
// OPENAI_BASE_URL and OPENAI_API_KEY like any agent on the SDK.
//
// The task is the first argument, else stdin. Settings (environment):
//   AGENT_MODEL      model id (default "fake-model")
//   AGENT_STREAM=1   stream the replies
//   AGENT_TURNS=N    keep going ("Continue.") until N calls even without tool
//                    calls (default 1: stop at the first answer without calls)
//   AGENT_MAX_TOKENS max_tokens of each call (default 64)
//   AGENT_REWRITE=1  after the loop, rewrite the history (a compaction: the
//                    conversation summed up in one message) and call once more
// It prints one JSON line: {"answer": ..., "calls": N, "tool_calls": N}.
import OpenAI from "openai";

const tools = [{
  type: "function",
  function: {
    name: "add",
    description: "Adds two integers.",
    parameters: {
      type: "object",
      properties: { a: { type: "integer" }, b: { type: "integer" } },
      required: ["a", "b"],
    },
  },
}];

function runTool(name, args) {
  if (name !== "add") return `unknown tool ${name}`;
  try {
    const { a, b } = JSON.parse(args);
    return String(Number(a) + Number(b));
  } catch (e) {
    return `bad arguments: ${e.message}`;
  }
}

async function readStdin() {
  let s = "";
  for await (const chunk of process.stdin) s += chunk;
  return s.trim();
}

const task = process.argv[2] ?? (await readStdin());
const model = process.env.AGENT_MODEL ?? "fake-model";
const stream = process.env.AGENT_STREAM === "1";
const wantTurns = Number(process.env.AGENT_TURNS ?? "1");
const maxTokens = Number(process.env.AGENT_MAX_TOKENS ?? "64");
const client = new OpenAI({ maxRetries: 0, timeout: 60_000 });

let calls = 0;
let toolCalls = 0;

// complete makes one call and returns the assistant message.
async function complete(messages) {
  calls++;
  const params = { model, messages, tools, max_tokens: maxTokens, temperature: 0.7, seed: calls };
  if (!stream) {
    const r = await client.chat.completions.create(params);
    return r.choices[0].message;
  }
  const s = await client.chat.completions.create({ ...params, stream: true });
  const msg = { role: "assistant", content: "", tool_calls: [] };
  let sawContent = false;
  for await (const chunk of s) {
    for (const c of chunk.choices) {
      const d = c.delta;
      if (d.content != null) { msg.content += d.content; sawContent = true; }
      for (const tc of d.tool_calls ?? []) {
        const cur = msg.tool_calls[tc.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
        if (tc.id) cur.id = tc.id;
        if (tc.function?.name) cur.function.name += tc.function.name;
        if (tc.function?.arguments) cur.function.arguments += tc.function.arguments;
      }
    }
  }
  if (!sawContent) msg.content = null;
  if (msg.tool_calls.length === 0) delete msg.tool_calls;
  return msg;
}

const messages = [
  { role: "system", content: "You are a careful assistant. Use the add tool for sums." },
  { role: "user", content: task },
];
let answer = "";
for (let i = 0; i < 8; i++) {
  const msg = await complete(messages);
  const kept = { role: "assistant", content: msg.content ?? null };
  if (msg.tool_calls?.length) kept.tool_calls = msg.tool_calls;
  messages.push(kept);
  if (msg.tool_calls?.length) {
    for (const tc of msg.tool_calls) {
      toolCalls++;
      messages.push({ role: "tool", tool_call_id: tc.id, content: runTool(tc.function.name, tc.function.arguments) });
    }
    continue;
  }
  answer = msg.content ?? "";
  if (calls >= wantTurns) break;
  messages.push({ role: "user", content: "Continue." });
}

if (process.env.AGENT_REWRITE === "1") {
  // A compaction: the history is replaced by a summary.
  const summary = [
    messages[0],
    { role: "user", content: `Summary of the work so far: the task was "${task}" and the answer was "${answer}". Check it.` },
  ];
  const msg = await complete(summary);
  answer = msg.content ?? answer;
}

console.log(JSON.stringify({ answer, calls, tool_calls: toolCalls }));
