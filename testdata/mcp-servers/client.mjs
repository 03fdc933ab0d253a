// A command-line driver for the reference TypeScript MCP client
// (@modelcontextprotocol/sdk), used by retrain's tests to check its MCP
// server with a client written by others.
//
//   node client.mjs stdio COMMAND [ARGS...] -- CALLS_JSON
//   node client.mjs http URL -- CALLS_JSON
//
// CALLS_JSON is an array of {"name": ..., "arguments": {...}}. The script
// lists the tools, makes the calls in order, and prints one JSON object:
// {"tools": [...], "results": [...]} (each result as the server sent it, or
// {"error": message} when the call failed at the protocol level).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
if (argv.length < 2 || sep < 0 || sep === argv.length - 1) {
  console.error("usage: node client.mjs stdio COMMAND [ARGS...] -- CALLS_JSON | http URL -- CALLS_JSON");
  process.exit(2);
}
const [mode, ...target] = argv.slice(0, sep);
const calls = JSON.parse(argv[sep + 1]);

let transport;
if (mode === "stdio") {
  transport = new StdioClientTransport({ command: target[0], args: target.slice(1), stderr: "inherit" });
} else if (mode === "http") {
  transport = new StreamableHTTPClientTransport(new URL(target[0]));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

const client = new Client({ name: "retrain-test-ts-client", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
const results = [];
for (const c of calls) {
  try {
    results.push(await client.callTool({ name: c.name, arguments: c.arguments ?? {} }));
  } catch (e) {
    results.push({ error: String(e?.message ?? e) });
  }
}
console.log(JSON.stringify({ tools, results }));
await client.close();
process.exit(0); // do not wait for idle HTTP connections to time out
