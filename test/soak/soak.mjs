#!/usr/bin/env node
// The seed topology (responder, middle, initiator) as three child processes, with random
// kill -9 and restarts of each, for --minutes N. Reports messages sent, delivered,
// duplicated and RSS per process. Not part of `npm test`: run `npm run soak -- --minutes 5`.
// Exit status 1 if any message was delivered twice.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const USAGE = "usage: npm run soak -- [--minutes 2] [--rate 200] [--kill-every 5] [--stall 3000] [--seed N] [--json] [--help]";
let values;
try {
  ({ values } = parseArgs({
    options: {
      minutes: { type: "string", default: "2" },
      rate: { type: "string", default: "200" },
      "kill-every": { type: "string", default: "5" },
      stall: { type: "string", default: "3000" },
      seed: { type: "string", default: String(Date.now() % 100000) },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }));
} catch (error) {
  // An unknown or malformed flag: one line and the usage, not parseArgs' stack trace.
  console.error(`soak: ${error.message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const minutes = Number(values.minutes);
const killEverySeconds = Number(values["kill-every"]);
for (const flag of ["minutes", "rate", "kill-every", "stall"]) {
  if (!(Number(values[flag]) > 0)) {
    console.error(`soak: --${flag} must be a positive number, got ${JSON.stringify(values[flag])}\n${USAGE}`);
    process.exit(2);
  }
}

// A small seeded generator, so that a run can be repeated (--seed).
let state = Number(values.seed) >>> 0 || 1;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const roles = {
  responder: { script: here("./responder.mjs") },
  middle: { script: here("./middle.mjs") },
  initiator: { script: here("./initiator.mjs") },
};
for (const role of Object.values(roles)) Object.assign(role, { child: undefined, restarts: 0, kills: 0, rssMaxMB: 0, rssLastMB: 0, totals: {}, current: {} });

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}
const responderPort = await freePort();
const middlePort = await freePort();
const argsOf = {
  responder: [String(responderPort)],
  middle: [String(middlePort), String(responderPort)],
  initiator: [String(middlePort), values.rate, values.stall],
};

function start(name) {
  const role = roles[name];
  const child = spawn(process.execPath, [role.script, ...argsOf[name]], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  role.child = child;
  role.current = {};
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("STATS ")) role.current = JSON.parse(line.slice(6));
  });
  child.stderr.on("data", () => {}); // a killed node's last words are expected
  child.on("exit", () => {
    // Counters of a finished incarnation add to the totals; up to 250 ms of them are lost with a kill -9.
    for (const [k, v] of Object.entries(role.current)) role.totals[k] = (role.totals[k] ?? 0) + v;
    role.current = {};
    if (role.child === child) role.child = undefined;
    // A middle that found no responder exits by itself: start it again after a pause.
    if (!stopping && role.child === undefined && !role.restarting) setTimeout(() => !stopping && !role.child && start(name), 500);
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

let stopping = false;
function stopAll() {
  stopping = true;
  for (const role of Object.values(roles)) if (role.child) killGroup(role.child);
}
process.on("SIGINT", () => {
  stopAll();
  process.exit(130);
});

function sampleRss() {
  for (const role of Object.values(roles)) {
    if (!role.child) continue;
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${role.child.pid}/status`, "utf8"))?.[1] ?? 0);
      role.rssLastMB = kb / 1024;
      role.rssMaxMB = Math.max(role.rssMaxMB, role.rssLastMB);
    } catch {
      /* exited between the check and the read */
    }
  }
}

const sum = (name, key) => (roles[name].totals[key] ?? 0) + (roles[name].current[key] ?? 0);
let longestSilenceMs = 0;
let lastReplies = 0;
let lastProgressAt = Date.now();
function watchProgress() {
  const replies = sum("initiator", "replies");
  if (replies > lastReplies) {
    lastReplies = replies;
    lastProgressAt = Date.now();
  } else longestSilenceMs = Math.max(longestSilenceMs, Date.now() - lastProgressAt);
}

const startedAt = Date.now();
const endAt = startedAt + minutes * 60_000;
try {
  start("responder");
  await new Promise((r) => setTimeout(r, 1000));
  start("middle");
  await new Promise((r) => setTimeout(r, 1000));
  start("initiator");
  const timers = [setInterval(sampleRss, 500), setInterval(watchProgress, 100)];
  let nextKill = Date.now() + killEverySeconds * 1000 * (0.5 + random());
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, 100));
    if (Date.now() < nextKill) continue;
    const name = ["responder", "middle", "initiator"][Math.floor(random() * 3)];
    const role = roles[name];
    if (role.child) {
      role.restarting = true;
      killGroup(role.child);
      role.kills++;
      await new Promise((r) => setTimeout(r, 500 + 1500 * random()));
      role.restarting = false;
      if (!role.child) {
        start(name);
        role.restarts++;
      }
    }
    nextKill = Date.now() + killEverySeconds * 1000 * (0.5 + random());
  }
  // A quiet last stretch: how long until replies flow again after the last kill.
  await new Promise((r) => setTimeout(r, Math.min(10_000, Number(values.stall) * 3)));
  for (const t of timers) clearInterval(t);
} finally {
  stopAll();
}
await new Promise((r) => setTimeout(r, 300));

const report = {
  node: process.version,
  minutes,
  seed: Number(values.seed),
  sent: sum("initiator", "sent"),
  repliesReceived: sum("initiator", "replies"),
  deliveredToResponder: sum("responder", "received"),
  duplicatedAtResponder: sum("responder", "duplicates"),
  duplicatedReplies: sum("initiator", "duplicates"),
  channelsOpened: sum("initiator", "channels"),
  channelFailures: sum("initiator", "channelFailures"),
  longestSilenceSeconds: Number((longestSilenceMs / 1000).toFixed(1)),
  processes: Object.fromEntries(
    Object.entries(roles).map(([name, r]) => [name, { kills: r.kills, restarts: r.restarts, rssMaxMB: Number(r.rssMaxMB.toFixed(1)), rssLastMB: Number(r.rssLastMB.toFixed(1)) }]),
  ),
};
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`soak: ${minutes} min, seed ${report.seed}, ${process.version}`);
  // Each process reports its counts every 250 ms: one killed with -9 loses what it counted since, so
  // every figure is a lower bound (sent can read below delivered after the initiator was killed).
  console.log(`  sent ≥ ${report.sent}, delivered to the responder ≥ ${report.deliveredToResponder}, replies ≥ ${report.repliesReceived}`);
  console.log("  (counts are lower bounds: a process killed with -9 loses up to 250 ms of its counts)");
  console.log(`  duplicated: ${report.duplicatedAtResponder} at the responder, ${report.duplicatedReplies} replies`);
  console.log(`  channels opened ${report.channelsOpened}, failed attempts ${report.channelFailures}, longest time without replies ${report.longestSilenceSeconds} s`);
  for (const [name, p] of Object.entries(report.processes)) {
    console.log(`  ${name.padEnd(9)} kills ${p.kills}, restarts ${p.restarts}, RSS max ${p.rssMaxMB} MB, last ${p.rssLastMB} MB`);
  }
}
process.exit(report.duplicatedAtResponder + report.duplicatedReplies > 0 ? 1 : 0);
