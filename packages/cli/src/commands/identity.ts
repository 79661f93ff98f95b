import type { Command } from "commander";
import { hopwireHome } from "../home.js";
import { createNamedIdentity, listIdentityNames, loadNamedIdentity } from "../identities.js";

/** `hopwire identity create|show|list`. */
export function identityCommand(program: Command, out: (line: string) => void): void {
  const identity = program.command("identity").description("create and inspect identities (stored in <home>/identities)");
  identity
    .command("create")
    .argument("[name]", "the identity's name", "default")
    .description("create a new identity and print its identifier")
    .action(async (name: string) => {
      const created = await createNamedIdentity(hopwireHome(program.opts().home), name);
      out(created.identifier);
    });
  identity
    .command("show")
    .argument("[name]", "the identity's name", "default")
    .description("print an identity's identifier")
    .action(async (name: string) => {
      out((await loadNamedIdentity(hopwireHome(program.opts().home), name)).identifier);
    });
  identity
    .command("list")
    .description("list stored identities: name and identifier")
    .action(async () => {
      const home = hopwireHome(program.opts().home);
      for (const name of await listIdentityNames(home)) out(`${name} ${(await loadNamedIdentity(home, name)).identifier}`);
    });
}
