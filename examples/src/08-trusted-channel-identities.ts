// Makes the two identities of example 08, once: each node's secret in a file of its own (mode
// 0600), and each node's identifier, which is public, beside it. In a real deployment each
// machine keeps its own secret and is given only the other's identifier.
//
//   npm run example -- 08-trusted-channel-identities <dir>
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createIdentity, saveIdentity } from "@hopwire/secure-channel";

const dir = process.argv[2];
if (dir === undefined) {
  console.error("Usage: npm run example -- 08-trusted-channel-identities <dir>");
  process.exit(2);
}
await mkdir(dir, { recursive: true });
for (const name of ["server", "client"]) {
  const identity = await createIdentity();
  await saveIdentity(identity, join(dir, `${name}.json`)); // the secret: this node's only
  await writeFile(join(dir, `${name}.id`), `${identity.identifier}\n`); // the identifier: for the other node
  console.log(`${name}: ${identity.identifier}`);
}
