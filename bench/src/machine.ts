// Where the figures were measured: every results file carries exactly one of these.
import os from "node:os";
import type { MachineRecord } from "./results.js";

export function machineRecord(settings: MachineRecord["settings"], date = new Date()): MachineRecord {
  const cpus = os.cpus();
  return {
    type: "machine",
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism?.() ?? cpus.length,
    totalMemory: os.totalmem(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    date: date.toISOString(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    settings,
  };
}
