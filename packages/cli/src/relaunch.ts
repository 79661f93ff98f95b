// A command that runs a node (`node`, `relay`, `outlet`, `inlet`) runs it in a child process
// started with V8 flags that Node accepts only on its own command line, this process staying
// as the child's supervisor. `--initial-old-space-size=64`: a node that moves a bulk stream
// otherwise spends about a third of its CPU in mark-compacts while its old generation grows
// from V8's first limit near 8 MB (docs/cli.md, "The node's own process"; docs/architecture.md,
// "Why the mark-compacts start near 8 MB"). The flag is refused in NODE_OPTIONS, and read only
// when the isolate is made (v8.setFlagsFromString does nothing for it then), and a shebang
// with `env -S` fails on BusyBox and on Windows' npm shims: so a second process, as a JVM's
// launcher passes -Xms. The library sets no such flag (docs/tuning.md, "On the host"): this
// is the CLI's own program. This file imports nothing of the CLI's, so the supervisor loads
// only it.
import { spawn } from "node:child_process";
import { constants } from "node:os";

/** The flags a node's process gets: space-separated; empty runs the node in this process. */
export const NODE_FLAGS_ENV = "HOPWIRE_NODE_FLAGS";
/** Set in the child's environment: it never relaunches, and it dies with its supervisor. */
const CHILD_ENV = "HOPWIRE_NODE_CHILD";
/** The flags when HOPWIRE_NODE_FLAGS is unset. */
export const DEFAULT_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=64"];

const NODE_COMMANDS = new Set(["node", "relay", "outlet", "inlet"]);
/** The program's options that take a value as the next argument (cli.ts). */
const GLOBAL_WITH_VALUE = new Set(["--home"]);
const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
/** The signals whose default action dumps core (signal(7)). */
const CORE_SIGNALS: ReadonlySet<string> = new Set(["SIGABRT", "SIGBUS", "SIGFPE", "SIGILL", "SIGQUIT", "SIGSEGV", "SIGSYS", "SIGTRAP", "SIGXCPU", "SIGXFSZ"]);

/** The command of `hopwire ...args`: the first argument that is neither an option nor a global option's value. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return args[i + 1];
    if (GLOBAL_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/** A flag's name as V8 reads it: `--initial_old_space_size=64` and `--initial-old-space-size` are one flag. */
const flagName = (arg: string): string => arg.split("=")[0]!.replace(/_/g, "-");

/**
 * The flags to start the node's process with, or undefined to run the command in this
 * process: a command that runs no node (identities, --help, --version), a child already
 * (HOPWIRE_NODE_CHILD), HOPWIRE_NODE_FLAGS set to nothing, every flag already on this
 * process's command line (`node --initial-old-space-size=64 hopwire.js ...`), or a process
 * under the inspector (`--inspect*`: the child's inspector could not have the same port).
 */
export function relaunchFlags(args: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] | undefined {
  if (env[CHILD_ENV] !== undefined) return undefined;
  if (!NODE_COMMANDS.has(commandOf(args) ?? "")) return undefined;
  if (args.includes("--help") || args.includes("-h")) return undefined;
  const given = env[NODE_FLAGS_ENV];
  const flags = given === undefined ? [...DEFAULT_NODE_FLAGS] : given.split(/\s+/).filter((f) => f !== "");
  if (flags.length === 0) return undefined;
  checkNodeFlags(flags);
  const have = new Set(execArgv.map(flagName));
  // The inspector from NODE_OPTIONS too (an IDE's debug terminal): both processes would take its port.
  const options = (env.NODE_OPTIONS ?? "").split(/\s+/).map(flagName);
  if ([...have, ...options].some((name) => name.startsWith("--inspect"))) return undefined;
  if (flags.every((flag) => have.has(flagName(flag)))) return undefined;
  return flags;
}

/** Node options that run something other than the script (or nothing): the node would not run. */
const NOT_A_RUN = new Set(["--version", "-v", "--help", "-h", "--v8-options", "--check", "-c", "--eval", "-e", "--print", "-p", "--interactive", "-i", "--test", "--run", "--completion-bash"]);

/**
 * HOPWIRE_NODE_FLAGS's words are flags, each one word: a value written apart from its flag
 * ("--max-old-space-size 512"), a word in quotes split at its space, or a stray word was
 * taken by Node for the script to run ("Cannot find module …/512"); --version printed Node's
 * version and exited 0 without a node. Throws an Error saying which word and how to write it.
 */
function checkNodeFlags(flags: readonly string[]): void {
  for (const flag of flags) {
    if (!flag.startsWith("-") || flag === "-" || flag === "--" || /["']/.test(flag))
      throw new Error(
        `${NODE_FLAGS_ENV}: "${flag}" is not a flag: expected Node or V8 flags separated by spaces, each one word with its value after "=" (--max-old-space-size=512), no quotes`,
      );
    if (NOT_A_RUN.has(flagName(flag))) throw new Error(`${NODE_FLAGS_ENV}: "${flag}" would run no node: expected flags for the node's process (--initial-old-space-size=64)`);
  }
}

/** Whether this process is a node's process under the CLI's supervisor (guardChild). */
let supervised = false;

/**
 * This process runs a node under the CLI's supervisor. A signal may then come twice: forwarded
 * by the supervisor, and straight from whoever signalled every process of a service (systemd's
 * default KillMode=control-group sends SIGTERM to both): run-node counts the same signal
 * within SAME_SIGNAL_MS as one, where a second signal would otherwise stop the node at once.
 */
export const underSupervisor = (): boolean => supervised;
/** How close the two deliveries of one signal come (the supervisor forwards at once; generous for a loaded host). */
export const SAME_SIGNAL_MS = 500;

/** What the node does when its supervisor was signalled again (whenSignalledAgain). */
let signalledAgain: ((signal: NodeJS.Signals) => void) | undefined;

/**
 * Under the supervisor: `listener` is called when the supervisor itself got a second signal
 * (Ctrl-C twice in a terminal, where only the supervisor gets them), which this process could
 * not tell from one signal delivered twice (SAME_SIGNAL_MS). Undefined removes it.
 */
export function whenSignalledAgain(listener: ((signal: NodeJS.Signals) => void) | undefined): void {
  signalledAgain = listener;
}

/**
 * SIGINT/SIGTERM before run-node has its own handlers (while this process loads the CLI and
 * reads its configuration, ~0.5 s on a loaded host): the command exits 0, as a signal during
 * start-up does, rather than being killed by it.
 */
const exitQuietly = (): void => process.exit(0);

/** run-node's handlers are in place: the start-up ones go (see exitQuietly). */
export function releaseStartUpSignals(): void {
  process.off("SIGINT", exitQuietly);
  process.off("SIGTERM", exitQuietly);
}

/**
 * In the child a supervisor started: the node must not outlive it (a supervisor killed with
 * SIGKILL forwards nothing), so when its IPC channel closes the child kills itself. The
 * channel is unref'd, so it keeps the child alive no longer than the node would keep a
 * process of its own, and 'disconnect' still comes when the supervisor dies (checked).
 */
function guardChild(): void {
  supervised = true;
  delete process.env[CHILD_ENV]; // nothing the node starts takes it for a child of this supervisor
  process.on("SIGINT", exitQuietly);
  process.on("SIGTERM", exitQuietly);
  if (process.channel === undefined) return;
  // The supervisor died while this process loaded its modules: its channel closed then, and
  // 'disconnect' was emitted before anyone listened (process.channel is null now; unref threw).
  if (!process.connected) process.kill(process.pid, "SIGKILL");
  process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));
  process.on("message", (message: unknown) => {
    const signal = (message as { again?: unknown } | null)?.again;
    if (typeof signal === "string" && FORWARDED.includes(signal as NodeJS.Signals)) signalledAgain?.(signal as NodeJS.Signals);
  });
  process.channel.unref(); // after the listeners, which ref the channel again
}

/**
 * Runs the command in a child started with `flags` and mirrors it: stdio shared, each
 * SIGINT/SIGTERM/SIGHUP forwarded once (and Ctrl-Z's stop, and SIGCONT), this process's
 * exit code (or signal) the child's.
 * On POSIX the child has its own process group, so a terminal's Ctrl-C reaches only this
 * process and the node gets one SIGINT (a second one stops it at once: run-node.ts). On
 * Windows the console delivers Ctrl-C to the child itself, and nothing is forwarded.
 */
function supervise(flags: readonly string[]): void {
  const child = spawn(process.execPath, [...process.execArgv, ...flags, process.argv[1]!, ...process.argv.slice(2)], {
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    detached: process.platform !== "win32",
    env: { ...process.env, [CHILD_ENV]: "1" },
  });
  let received = 0;
  const forward = (signal: NodeJS.Signals): void => {
    if (process.platform === "win32") return;
    child.kill(signal);
    // Each signal this process gets was sent once: a second one is a second one (Ctrl-C twice),
    // which the node, counting one signal delivered twice as one, would not take for one.
    if (++received > 1 && child.connected) child.send({ again: signal }, () => {});
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  // A terminal's Ctrl-Z stops the job, this process: the node too, as it did in one process,
  // and `fg`/`bg` (SIGCONT) let both go on.
  const suspend = (): void => {
    child.kill("SIGSTOP");
    process.kill(process.pid, "SIGSTOP");
  };
  const resume = (): void => void child.kill("SIGCONT");
  if (process.platform !== "win32") {
    process.on("SIGTSTP", suspend);
    process.on("SIGCONT", resume);
  }
  child.on("error", (error) => {
    process.stderr.write(`hopwire: could not start the node's process (${process.execPath}): ${error.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    process.off("SIGTSTP", suspend);
    process.off("SIGCONT", resume);
    // 9: Node refused its command line ("node: bad option: …", printed above); hopwire never exits 9.
    if (code === 9 && process.env[NODE_FLAGS_ENV] !== undefined)
      process.stderr.write(`hopwire: the node's process did not start: Node refused the flags of ${NODE_FLAGS_ENV} (${flags.join(" ")})\n`);
    if (signal === null) process.exit(code ?? 1);
    // A signal that dumps core (an abort: V8 out of memory, a crash): the node's core is the
    // one to keep. Raised here it dumped this process's core as well, over the node's where
    // the pattern is a plain "core" in the working directory: exit 128 + the signal instead.
    const asAShellSaysIt = 128 + (constants.signals[signal] ?? 0);
    if (CORE_SIGNALS.has(signal)) process.exit(asAShellSaysIt);
    // Ended by a signal: so does this process, as a shell sees it (128 + the signal if it can't).
    process.kill(process.pid, signal);
    setTimeout(() => process.exit(asAShellSaysIt), 1000);
  });
}

/**
 * Called first by the bin: true when this process became the supervisor of the node's
 * process (the bin then does nothing else), false when the command runs here.
 */
export function relaunched(): boolean {
  if (process.env[CHILD_ENV] !== undefined) {
    guardChild();
    return false;
  }
  let flags: string[] | undefined;
  try {
    flags = relaunchFlags(process.argv.slice(2), process.execArgv, process.env);
  } catch (error) {
    process.stderr.write(`hopwire: ${(error as Error).message}\n`);
    process.exit(2); // a configuration error (EXIT_CONFIG)
  }
  if (flags === undefined) return false;
  supervise(flags);
  return true;
}
