// Drives PubNub's JavaScript SDK against a local server for tests/test_js_sdk.py.
//
//   node interop.mjs --modules DIR --origin 127.0.0.1:PORT --sub KEY --pub KEY --uuid ID
//
// DIR holds the node_modules that `npm ci` installed from this folder's package-lock.json.
// Commands come on stdin, one JSON object a line: {"id": 1, "op": "hereNow", "args": {...}}.
// Everything goes to stdout as one JSON object a line: {"id": 1, "result": ...} or
// {"id": 1, "error": {...}} per command, {"event": "presence"|"status"|"message", ...} per
// listener callback.  {"op": "exit"} (or the end of stdin) stops the client and exits.

import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
  options: {
    modules: { type: "string" },
    origin: { type: "string" },
    sub: { type: "string" },
    pub: { type: "string" },
    uuid: { type: "string" },
  },
});
for (const name of ["modules", "origin", "sub", "pub", "uuid"]) {
  if (!options[name]) {
    process.stderr.write(`interop.mjs: --${name} is required\n`);
    process.exit(2);
  }
}

const PubNub = createRequire(join(options.modules, "package.json"))("pubnub");

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

const pubnub = new PubNub({
  origin: options.origin,
  ssl: false,
  subscribeKey: options.sub,
  publishKey: options.pub,
  userId: options.uuid,
});

pubnub.addListener({
  status: (status) =>
    emit({
      event: "status",
      category: status.category,
      operation: status.operation ?? null,
      channels: status.affectedChannels ?? [],
      groups: status.affectedChannelGroups ?? [],
    }),
  presence: (event) =>
    emit({
      event: "presence",
      action: event.action,
      uuid: event.uuid ?? null,
      channel: event.channel,
      subscription: event.subscription ?? null,
      occupancy: event.occupancy,
      state: event.state ?? null,
    }),
  message: (event) =>
    emit({
      event: "message",
      channel: event.channel,
      subscription: event.subscription ?? null,
      message: event.message,
      publisher: event.publisher ?? null,
    }),
});

// The names of channels and groups from a command's args, as the SDK's parameters take them.
function names(args) {
  return { channels: args.channels ?? [], channelGroups: args.groups ?? [] };
}

const operations = {
  addChannels: (args) =>
    pubnub.channelGroups.addChannels({ channels: args.channels, channelGroup: args.group }),
  removeChannels: (args) =>
    pubnub.channelGroups.removeChannels({ channels: args.channels, channelGroup: args.group }),
  listChannels: (args) => pubnub.channelGroups.listChannels({ channelGroup: args.group }),
  subscribe: (args) => {
    pubnub.subscribe({ ...names(args), withPresence: Boolean(args.withPresence) });
    return {};
  },
  unsubscribe: (args) => {
    pubnub.unsubscribe(names(args));
    return {};
  },
  unsubscribeAll: () => {
    pubnub.unsubscribeAll();
    return {};
  },
  hereNow: (args) =>
    pubnub.hereNow({
      ...names(args),
      includeUUIDs: args.includeUUIDs ?? true,
      includeState: args.includeState ?? false,
    }),
  whereNow: (args) => pubnub.whereNow({ uuid: args.uuid ?? options.uuid }),
  setState: (args) => pubnub.setState({ ...names(args), state: args.state }),
  getState: (args) => pubnub.getState({ ...names(args), uuid: args.uuid ?? options.uuid }),
};

function failure(error) {
  const status = error?.status ?? {};
  return {
    message: String(error?.message ?? error),
    category: status.category ?? null,
    statusCode: status.statusCode ?? null,
  };
}

let stopped = false;
function stop(code) {
  if (stopped) return;
  stopped = true;
  pubnub.destroy(); // cancels the long poll; nothing keeps the process alive after it
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

const input = createInterface({ input: process.stdin });
input.on("line", async (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    emit({ id: null, error: { message: `not JSON: ${line}` } });
    return;
  }
  if (command.op === "exit") {
    stop(0);
    return;
  }
  const operation = operations[command.op];
  if (!operation) {
    emit({ id: command.id ?? null, error: { message: `unknown op: ${command.op}` } });
    return;
  }
  try {
    emit({ id: command.id, result: (await operation(command.args ?? {})) ?? null });
  } catch (error) {
    emit({ id: command.id, error: failure(error) });
  }
});
input.on("close", () => stop(0));
