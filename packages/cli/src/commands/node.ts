import { Option, type Command } from "commander";
import { ConfigError } from "../errors.js";
import { COMMAND_LINE, inFlagTerms, type FlagsByPath } from "./flag-terms.js";
import { hopwireHome } from "../home.js";
import type { LineLog } from "../node/start-node.js";
import type { NodeConfig, NodeConfigInput } from "../config/schema.js";

type ConfigModule = typeof import("../config/load-config.js");
type RunNodeModule = typeof import("../node/run-node.js");

/**
 * The configuration parser (zod) and the node runner (every package: transport, channels,
 * portals, relays), loaded when a node command runs: `--help`, a usage error and the
 * identity commands need neither.
 */
const loadConfigFile = async (...args: Parameters<ConfigModule["loadConfigFile"]>) => (await import("../config/load-config.js")).loadConfigFile(...args);
const parseConfig = async (...args: Parameters<ConfigModule["parseConfig"]>) => (await import("../config/load-config.js")).parseConfig(...args);
const runNode = async (...args: Parameters<RunNodeModule["runNode"]>) => (await import("../node/run-node.js")).runNode(...args);


/** A one-liner's configuration, checked: an error names the flag that gave the value, not the configuration's key. */
async function parseCommandLine(raw: NodeConfigInput, flags: FlagsByPath): Promise<NodeConfig> {
  try {
    return await parseConfig(raw, COMMAND_LINE);
  } catch (error) {
    throw error instanceof ConfigError ? inFlagTerms(error, raw, flags) : error;
  }
}

const RELAY_FLAGS: FlagsByPath = { identity: "--identity", "tcpListeners[0].address": "--listen", "relayService.allow": "--allow" };
const OUTLET_FLAGS: FlagsByPath = {
  identity: "--identity",
  "tcpListeners[0].address": "--listen",
  "relays[0].name": "--relay",
  "relays[0].at": "--relay",
  "relays[0].trust": "--relay-trust",
  "secureChannelListeners[0].trust": "--trust",
  "outlets[0].address": "--address",
  "outlets[0].to": "--to",
  "outlets[0].allow": "--allow-target",
};
const INLET_FLAGS: FlagsByPath = {
  identity: "--identity",
  "inlets[0].listen": "--from",
  "inlets[0].via": "--via",
  "inlets[0].relay": "--via",
  "inlets[0].trust": "--trust",
  "inlets[0].outlet": "--outlet",
  "inlets[0].target": "--target",
};

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The parser of an option that takes one value. Commander keeps the last of several
 * silently (`outlet --relay bob@… --relay carol@…` registered carol only, `--to` twice
 * connected to the second target): the second is a usage error naming both values. The
 * parser is made per option of one command line, so its memory is that command line's.
 */
export function once(flag: string): (value: string) => string {
  let first: string | undefined;
  return (value) => {
    if (first !== undefined) {
      throw new ConfigError(
        `${COMMAND_LINE}: ${flag} given twice (${JSON.stringify(first)}, then ${JSON.stringify(value)}): it takes one value, and the last one would silently win`,
      );
    }
    first = value;
    return value;
  };
}

/**
 * The options each one-liner requires. Commander checks its own required options before it
 * looks for unknown ones, so `relay --listn x` said "required option '--listen' not
 * specified" and never named the typo: these are checked after it (preAction).
 */
const requiredOptions = new WeakMap<Command, Option[]>();

function requiredOption(command: Command, flags: string, description: string): Command {
  const option = new Option(flags, `${description} (required)`).argParser(once(flags.split(" ")[0]!));
  requiredOptions.set(command, [...(requiredOptions.get(command) ?? []), option]);
  return command.addOption(option);
}

/** `hopwire node <config>` and the one-liners, which build the same configuration from flags. */
export function nodeCommands(program: Command, log: LineLog, warn: LineLog): void {
  const home = (): string => hopwireHome(program.opts().home);
  program.hook("preAction", (_program, command) => {
    for (const option of requiredOptions.get(command) ?? []) {
      if (command.getOptionValue(option.attributeName()) === undefined) {
        command.error(`error: required option '${option.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
      }
    }
  });

  program
    .command("node")
    .argument("<config>", "a node configuration: JSON if it ends in .json, else YAML")
    .description("run one node in the foreground from a configuration file (SIGINT/SIGTERM stop it)")
    .action(async (file: string) => {
      const config = await loadConfigFile(file);
      await runNode(config, { home: home(), source: file, log, warn });
    });

  const relay = program.command("relay").description("run a relay node: a TCP listener, a secure channel listener \"api\" and a relay service");
  requiredOption(relay, "--listen <host:port>", "where to listen for TCP")
    .option("--allow <name=identifier>", "let an identity register a relay name (repeatable; name * for any; this or --allow-anyone is required)", collect)
    .option("--allow-anyone", "let any identity register any name (demos only)")
    .option("--identity <name>", "the relay node's identity (default: a new one for this run)", once("--identity"))
    .action(async (o: { listen: string; allow?: string[]; allowAnyone?: boolean; identity?: string }) => {
      // Either would be silently wrong: an allow-list thrown away, or a relay nobody may use.
      if (o.allowAnyone && o.allow !== undefined) {
        throw new ConfigError(`${COMMAND_LINE}: relay: --allow-anyone lets any identity register any name, so the --allow rules would be ignored: give one or the other`);
      }
      if (!o.allowAnyone && o.allow === undefined) {
        throw new ConfigError(
          `${COMMAND_LINE}: relay: no one may register a name: add --allow <name>=<identifier> (repeatable; the outlet's identity, from hopwire identity show), or --allow-anyone for a demo`,
        );
      }
      const raw: NodeConfigInput = {
        ...(o.identity ? { identity: o.identity } : {}),
        tcpListeners: [{ address: o.listen }],
        secureChannelListeners: [{ address: "api", trust: "everyone" }],
        relayService: { allow: o.allowAnyone ? "everyone" : allowRules(o.allow ?? []) },
      };
      await runNode(await parseCommandLine(raw, RELAY_FLAGS), { home: home(), source: COMMAND_LINE, log, warn });
    });

  const outlet = program.command("outlet").description("run a node with a TCP outlet, reachable through its secure channel listener \"api\"");
  requiredOption(outlet, "--to <host:port>", "the TCP service the outlet connects to")
    .option("--listen <host:port>", "accept connections on this TCP address", once("--listen"))
    .option("--relay <name@host:port>", "register <name> at the relay node at <host:port> (only connects out)", once("--relay"))
    .option("--trust <identifier>", "an identity allowed to open channels to this node (repeatable; this or --trust-anyone is required)", collect)
    .option("--trust-anyone", "let any identity open channels to this node, and so reach --to (demos only)")
    .option("--relay-trust <identifier>", "the relay node's identity (default: any)", once("--relay-trust"))
    .option("--identity <name>", "this node's identity (default: a new one for this run)", once("--identity"))
    .option("--address <name>", "the outlet's address", once("--address"), "outlet")
    .option("--allow-target <host:port>", "a further target an inlet may ask for with --target (repeatable)", collect)
    .action(async (o: { to: string; listen?: string; relay?: string; trust?: string[]; trustAnyone?: boolean; relayTrust?: string; identity?: string; address: string; allowTarget?: string[] }) => {
      // It was silently ignored: a pin the user believes in, on a node that registers nowhere.
      if (o.relayTrust !== undefined && o.relay === undefined) {
        throw new ConfigError(
          `${COMMAND_LINE}: outlet: --relay-trust pins the identity of the relay node of --relay, and there is no --relay: add --relay <name>@<host:port>, or leave out --relay-trust`,
        );
      }
      if (o.listen === undefined && o.relay === undefined) {
        throw new ConfigError(
          `${COMMAND_LINE}: outlet: nothing could reach it: add --listen <host:port> (inlets connect to this node) ` +
            `or --relay <name>@<host:port> (this node registers <name> at a relay node), or both`,
        );
      }
      const relay = o.relay === undefined ? undefined : splitAt(o.relay, "--relay");
      const raw: NodeConfigInput = {
        ...(o.identity ? { identity: o.identity } : {}),
        ...(o.listen ? { tcpListeners: [{ address: o.listen }] } : {}),
        ...(relay ? { relays: [{ name: relay.name, at: relay.at, ...(o.relayTrust ? { trust: [o.relayTrust] } : {}) }] } : {}),
        // Neither --trust nor --trust-anyone is checkTrustChoice's error, once the rest is checked.
        secureChannelListeners: [{ address: "api", trust: o.trust ?? "everyone" }],
        outlets: [{ address: o.address, to: o.to, ...(o.allowTarget ? { allow: o.allowTarget } : {}) }],
      };
      const config = await parseCommandLine(raw, OUTLET_FLAGS);
      checkTrustChoice("outlet", o, `anyone who reaches this node would reach ${o.to}: add --trust <identifier> (repeatable; the inlet's identity, from hopwire identity show)`);
      await runNode(config, { home: home(), source: COMMAND_LINE, log, warn });
    });

  const inlet = program.command("inlet").description("run a node with a TCP inlet that reaches an outlet through a secure channel");
  requiredOption(inlet, "--from <host:port>", "where the inlet listens for TCP clients");
  requiredOption(inlet, "--via <[name@]host:port>", "the outlet's node, or <name>@<relay node> to go through forward_to_<name>")
    .option("--trust <identifier>", "the outlet node's identity (repeatable; this or --trust-anyone is required)", collect)
    .option("--trust-anyone", "take any identity that answers as the outlet's node (demos only)")
    .option("--identity <name>", "this node's identity (default: a new one for this run)", once("--identity"))
    .option("--outlet <name>", "the outlet's address", once("--outlet"), "outlet")
    .option("--target <host:port>", "ask the outlet for this target instead of its own --to (it must be one the outlet allows)", once("--target"))
    .action(async (o: { from: string; via: string; trust?: string[]; trustAnyone?: boolean; identity?: string; outlet: string; target?: string }) => {
      const at = o.via.lastIndexOf("@");
      // "@host:port" names no relay: said so, rather than as a name that was expected and got "".
      if (at === 0) throw ConfigError.at(COMMAND_LINE, ["--via"], `expected host:port, or <name>@<host:port> with the relay's name before "@", got ${JSON.stringify(o.via)}`);
      const raw: NodeConfigInput = {
        ...(o.identity ? { identity: o.identity } : {}),
        inlets: [
          {
            listen: o.from,
            via: at < 0 ? o.via : o.via.slice(at + 1),
            ...(at < 0 ? {} : { relay: o.via.slice(0, at) }),
            outlet: o.outlet,
            ...(o.target ? { target: o.target } : {}),
            trust: o.trust ?? "everyone", // neither flag: checkTrustChoice's error, once the rest is checked
          },
        ],
      };
      const config = await parseCommandLine(raw, INLET_FLAGS);
      checkTrustChoice(
        "inlet",
        o,
        "any node that answers at --via (a relay node too) could pose as the outlet's and read its clients' traffic: add --trust <identifier> (repeatable; the outlet node's identity, from hopwire identity show)",
      );
      await runNode(config, { home: home(), source: COMMAND_LINE, log, warn });
    });
}

/**
 * An outlet or inlet trusts the identities its --trust flags name, or, with --trust-anyone,
 * any: one of the two is required, as a relay's --allow or --allow-anyone is. A default of
 * everyone exposed an outlet's service to anyone who could reach the relay node, and let an
 * inlet take whatever answered for the outlet, without a word (a user trial, session 56).
 */
function checkTrustChoice(command: string, o: { trust?: string[]; trustAnyone?: boolean }, risk: string): void {
  if (o.trustAnyone && o.trust !== undefined) {
    throw new ConfigError(`${COMMAND_LINE}: ${command}: --trust-anyone trusts every identity, so the --trust identifiers would be ignored: give one or the other`);
  }
  if (!o.trustAnyone && o.trust === undefined) throw new ConfigError(`${COMMAND_LINE}: ${command}: ${risk}, or --trust-anyone for a demo`);
}

/**
 * The --allow rules as relayService.allow: name → identifiers. Collected in a Map, as a
 * relay may be called "toString", "constructor" or "__proto__" (valid names), which a
 * plain object's prototype already has; Object.fromEntries makes each an own key.
 */
function allowRules(rules: readonly string[]): Record<string, string[]> {
  const allow = new Map<string, string[]>();
  for (const rule of rules) {
    const eq = rule.indexOf("=");
    // Without a name the rule is no rule; without "=" its name would be checked as an identifier.
    if (eq < 1) throw ConfigError.at(COMMAND_LINE, ["--allow"], `expected <name>=<identifier>, got ${JSON.stringify(rule)}`);
    const name = rule.slice(0, eq);
    allow.set(name, [...(allow.get(name) ?? []), rule.slice(eq + 1)]);
  }
  return Object.fromEntries(allow);
}

function splitAt(value: string, flag: string): { name: string; at: string } {
  const at = value.indexOf("@");
  if (at < 0) throw ConfigError.at(COMMAND_LINE, [flag], `expected <name>@<host:port>, got ${JSON.stringify(value)}`);
  if (at === 0) throw ConfigError.at(COMMAND_LINE, [flag], `expected <name>@<host:port> with the relay's name before "@", got ${JSON.stringify(value)}`);
  return { name: value.slice(0, at), at: value.slice(at + 1) };
}
