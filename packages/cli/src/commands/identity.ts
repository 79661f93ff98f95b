import type { Command } from "commander";
import type { CliIo } from "../cli.js";
import { IdentityStoreError, ReportedFailure, EXIT_CONFIG } from "../errors.js";
import { hopwireHome } from "../home.js";

/**
 * The identity store, loaded when an identity command runs: it brings the secure-channel
 * package (≈ 120 modules), which `--help` and the node commands' parsing need not load.
 */
const identities = (): Promise<typeof import("../identities.js")> => import("../identities.js");

/** `hopwire identity create|show|list`. */
export function identityCommand(program: Command, io: CliIo): void {
  const { out } = io;
  const warn = (line: string): void => io.err(`hopwire: ${line}`);
  const identity = program.command("identity").description("create and inspect identities (stored in <home>/identities)");
  identity
    .command("create")
    .argument("[name]", "the identity's name", "default")
    .description("create a new identity and print its identifier")
    .action(async (name: string) => {
      const { createNamedIdentity } = await identities();
      const created = await createNamedIdentity(hopwireHome(program.opts().home), name);
      out(created.identifier);
    });
  identity
    .command("show")
    .argument("[name]", "the identity's name", "default")
    .description("print an identity's identifier")
    .action(async (name: string) => {
      const { loadNamedIdentity } = await identities();
      out((await loadNamedIdentity(hopwireHome(program.opts().home), name, { warn })).identifier);
    });
  identity
    .command("list")
    .description("list stored identities: name and identifier")
    .action(async () => {
      const { listIdentityNames, loadNamedIdentity } = await identities();
      const home = hopwireHome(program.opts().home);
      // One unreadable file does not hide the others: it is reported on stderr, the list goes
      // on, and the command exits 2 at the end.
      let unreadable = 0;
      for (const name of await listIdentityNames(home)) {
        try {
          out(`${name} ${(await loadNamedIdentity(home, name, { warn })).identifier}`);
        } catch (error) {
          if (!(error instanceof IdentityStoreError)) throw error;
          io.err(`hopwire: ${error.message}`);
          unreadable++;
        }
      }
      if (unreadable > 0) throw new ReportedFailure(EXIT_CONFIG);
    });
}
