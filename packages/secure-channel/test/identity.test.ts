// Identities: identifiers, signatures, export/import, files, and keeping secrets out of logs.
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toHex } from "../dist/bytes.js";
import { AbortError, HopwireError } from "@hopwire/runtime";
import {
  IdentityFileError,
  IdentityKeyMismatchError,
  InvalidIdentifierError,
  InvalidIdentityExportError,
  InvalidOptionError,
  UnknownCryptoProviderError,
  UnsupportedIdentityVersionError,
} from "../dist/errors.js";
import { nodeCryptoProvider } from "../dist/crypto/node-provider.js";
import { identifierFromPublicKey, isIdentifier, parseIdentifier } from "../dist/identity/identifier.js";
import { exportIdentity, importIdentity } from "../dist/identity/identity-export.js";
import { loadIdentity, MAX_IDENTITY_FILE_BYTES, saveIdentity } from "../dist/identity/identity-file.js";
import { createIdentity, Identity, identityFromSecretKey, verifyIdentitySignature } from "../dist/identity/identity.js";
import { hex, providers } from "./helpers.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
// RFC 8032 test 1 key pair.
const SECRET = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const PUBLIC = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

for (const provider of providers) {
  describe(`identities (${provider.name})`, () => {
    it("names an identity by I + hex SHA-256 of its public key", () => {
      const identity = identityFromSecretKey(SECRET, provider);
      const expected = `I${toHex(provider.sha256(PUBLIC))}`;
      expect(identity.identifier).toBe(expected);
      expect(identity.identifier).toMatch(/^I[0-9a-f]{64}$/);
      expect(identifierFromPublicKey(PUBLIC, provider)).toBe(expected);
      expect(identity.publicKey).toEqual(PUBLIC);
    });

    it("signs data that verifyIdentitySignature accepts, and nothing else", () => {
      const identity = createIdentity(provider);
      const data = utf8("vouch for this");
      const signature = identity.sign(data);
      expect(signature).toHaveLength(64);
      expect(verifyIdentitySignature(identity.publicKey, data, signature, provider)).toBe(true);
      expect(verifyIdentitySignature(identity.publicKey, utf8("something else"), signature, provider)).toBe(false);
      expect(verifyIdentitySignature(createIdentity(provider).publicKey, data, signature, provider)).toBe(false);
      expect(verifyIdentitySignature(identity.publicKey, data, signature.subarray(1), provider)).toBe(false);
    });

    it("round-trips through export and import", () => {
      const identity = createIdentity(provider);
      const exported = exportIdentity(identity);
      expect(exported).toMatchObject({ format: "hopwire-identity", version: 1, identifier: identity.identifier });
      const imported = importIdentity(JSON.parse(JSON.stringify(exported)), provider);
      expect(imported.identifier).toBe(identity.identifier);
      expect(imported.sign(utf8("x"))).toEqual(identity.sign(utf8("x")));
    });
  });
}

describe("the crypto provider argument", () => {
  it("takes a provider's name as well as its object, and refuses anything else by name (a node passed by mistake says so)", async () => {
    expect(identityFromSecretKey(SECRET, "noble").identifier).toBe(identityFromSecretKey(SECRET, nodeCryptoProvider).identifier);
    expect(identifierFromPublicKey(PUBLIC, "node")).toBe(identityFromSecretKey(SECRET).identifier);
    const aNode = { startWorker: () => {}, router: {} };
    expect(() => createIdentity(aNode as never)).toThrow(
      'createIdentity: got a node where a crypto provider goes ("node", "noble" or a provider object such as nobleCryptoProvider); createIdentity takes no node',
    );
    for (const [call, name] of [
      [() => identityFromSecretKey(SECRET, {} as never), "identityFromSecretKey"],
      [() => importIdentity(exportIdentity(createIdentity()), 42 as never), "importIdentity"],
      [() => identifierFromPublicKey(PUBLIC, null as never), "identifierFromPublicKey"],
      [() => verifyIdentitySignature(PUBLIC, utf8("x"), new Uint8Array(64), [] as never), "verifyIdentitySignature"],
    ] as const) {
      expect(call).toThrow(InvalidOptionError);
      expect(call).toThrow(new RegExp(`^${name}: the crypto provider must be "node", "noble" or a provider object`));
    }
    expect(() => createIdentity("nobel" as never)).toThrow(UnknownCryptoProviderError);
    // loadIdentity refuses it before it reads the file.
    await expect(loadIdentity("/nonexistent/identity.json", {} as never)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe("identity secrets stay out of logs", () => {
  it("JSON.stringify, String() and util.inspect show only the identifier", () => {
    const identity = identityFromSecretKey(SECRET);
    const secretHex = toHex(SECRET);
    const renderings = [
      JSON.stringify(identity),
      JSON.stringify({ nested: [identity] }),
      String(identity),
      `${identity}`,
      inspect(identity),
      inspect({ deep: { identity } }, { depth: 10, showHidden: true }),
      Object.keys(identity).join(","),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(secretHex);
      expect(text).not.toContain(secretHex.toUpperCase());
      expect(text).not.toContain(Buffer.from(SECRET).toString("base64"));
    }
    expect(JSON.parse(JSON.stringify(identity))).toEqual({ identifier: identity.identifier });
    expect(String(identity)).toBe(identity.identifier);
    expect(`${identity}`).toBe(identity.identifier);
    expect(inspect(identity)).toContain(identity.identifier);
  });

  it("structuredClone carries no key material", () => {
    const clone = structuredClone(identityFromSecretKey(SECRET)) as unknown as Record<string, unknown>;
    expect(JSON.stringify(clone)).not.toContain(toHex(SECRET));
    expect(clone).not.toBeInstanceOf(Identity);
  });

  it("cannot be constructed directly", () => {
    const Ctor = Identity as unknown as new (...args: unknown[]) => Identity;
    expect(() => new Ctor(Symbol("fake"), SECRET, PUBLIC)).toThrow(TypeError);
  });

  it("publicKey is a copy the caller cannot use to corrupt the identity", () => {
    const identity = identityFromSecretKey(SECRET);
    identity.publicKey.fill(0);
    expect(identity.publicKey).toEqual(PUBLIC);
  });
});

describe("identifiers", () => {
  it("validates format", () => {
    const good = identifierFromPublicKey(PUBLIC);
    expect(isIdentifier(good)).toBe(true);
    expect(parseIdentifier(good)).toBe(good);
    for (const bad of ["", "I", good.toUpperCase(), good.slice(1), `${good}0`, `X${good.slice(1)}`, good.slice(0, 64)]) {
      expect(isIdentifier(bad)).toBe(false);
      expect(() => parseIdentifier(bad)).toThrow(InvalidIdentifierError);
    }
  });
});

describe("importIdentity validation", () => {
  const valid = () => ({ ...exportIdentity(identityFromSecretKey(SECRET)) });

  it("refuses malformed objects with InvalidIdentityExportError", () => {
    for (const bad of [null, 42, "text", [], {}, { ...valid(), format: "other" }, { ...valid(), secretKey: "zz" }, { ...valid(), secretKey: toHex(SECRET).slice(2) }, { ...valid(), publicKey: 7 }, { ...valid(), identifier: undefined }]) {
      expect(() => importIdentity(bad), JSON.stringify(bad)).toThrow(InvalidIdentityExportError);
    }
  });

  it("refuses unknown versions", () => {
    expect(() => importIdentity({ ...valid(), version: 2 })).toThrow(UnsupportedIdentityVersionError);
    // String() of these threw a TypeError while the message was built.
    expect(() => importIdentity({ ...valid(), version: Object.create(null) })).toThrow(/^identity export version an object is not supported/);
    expect(() => importIdentity({ ...valid(), version: [Object.create(null)] })).toThrow(UnsupportedIdentityVersionError);
    expect(() => importIdentity({ ...valid(), version: "1" })).toThrow('identity export version "1" is not supported (expected 1)');
  });

  it("recomputes the public key and identifier and refuses mismatches", () => {
    const other = exportIdentity(createIdentity());
    expect(() => importIdentity({ ...valid(), publicKey: other.publicKey })).toThrow(IdentityKeyMismatchError);
    expect(() => importIdentity({ ...valid(), identifier: other.identifier })).toThrow(IdentityKeyMismatchError);
  });
});

describe("identity files", () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "hopwire-identity-"));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("saves with mode 0o600 and loads the same identity", async () => {
    const identity = createIdentity();
    const path = join(directory, "identity.json");
    await saveIdentity(identity, path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const loaded = await loadIdentity(path);
    expect(loaded.identifier).toBe(identity.identifier);
    expect(loaded.sign(utf8("y"))).toEqual(identity.sign(utf8("y")));
  });

  it("replaces an existing, wider-permission file and still ends at 0o600", async () => {
    const path = join(directory, "identity.json");
    await writeFile(path, "old", { mode: 0o644 });
    await saveIdentity(createIdentity(), path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8"))).toHaveProperty("secretKey");
  });

  it("saveIdentity and loadIdentity take { signal } only: a misspelt key is an InvalidOptionError, and nothing is written", async () => {
    const path = join(directory, "identity.json");
    const error = await saveIdentity(createIdentity(), path, { sigal: new AbortController().signal } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "OPTION_INVALID", option: "sigal", message: expect.stringMatching(/did you mean "signal"\?/) });
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await saveIdentity(createIdentity(), path, { signal: new AbortController().signal });
    await expect(loadIdentity(path, undefined, { timeout: 5 } as never)).rejects.toMatchObject({ code: "OPTION_INVALID", option: "timeout" });
    await expect(loadIdentity(path, undefined, { signal: "stop" } as never)).rejects.toMatchObject({ code: "OPTION_INVALID", option: "signal" });
  });

  it("a file that cannot be read or written is an IdentityFileError naming the path, the Node error its cause", async () => {
    const missing = join(directory, "nonexistent.json");
    const error = await loadIdentity(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityFileError);
    expect(error).toBeInstanceOf(HopwireError);
    expect(error).toMatchObject({ code: "IDENTITY_FILE_FAILED", path: missing, reason: "ENOENT" });
    expect((error as Error).message).toContain(`loadIdentity: cannot read the identity file ${JSON.stringify(missing)}`);
    expect((error as Error).cause).toMatchObject({ code: "ENOENT" });
    // A directory where the file should be: EISDIR, same class.
    await expect(loadIdentity(directory)).rejects.toMatchObject({ code: "IDENTITY_FILE_FAILED", path: directory, reason: "EISDIR" });
    // Writing into a directory that does not exist.
    const nowhere = join(directory, "no-such-directory", "identity.json");
    const saved = await saveIdentity(createIdentity(), nowhere).catch((e: unknown) => e);
    expect(saved).toBeInstanceOf(IdentityFileError);
    expect(saved).toMatchObject({ path: nowhere, reason: "ENOENT" });
    expect((saved as Error).message).toContain(`saveIdentity: cannot write the identity file ${JSON.stringify(nowhere)}`);
  });

  it("an aborted load or save is the runtime's AbortError", async () => {
    const path = join(directory, "identity.json");
    await saveIdentity(createIdentity(), path);
    const controller = new AbortController();
    controller.abort();
    await expect(loadIdentity(path, undefined, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    await expect(saveIdentity(createIdentity(), join(directory, "other.json"), { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });

    it("refuses a file that is not JSON without quoting it", async () => {
    const path = join(directory, "broken.json");
    await writeFile(path, `{"secretKey": "${toHex(SECRET)}"`);
    const error = await loadIdentity(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidIdentityExportError);
    expect(String((error as Error).message)).not.toContain(toHex(SECRET));
  });

  describe.skipIf(process.platform === "win32")("a file that is not a regular one, or too large", () => {
    // Before, readFile's open() of a FIFO with no writer waited for one on a libuv thread:
    // loadIdentity never settled and the process could not exit. Open the writing end (it
    // fails at once when no reader waits) so that a run without the fix ends.
    afterEach(() => {
      try {
        closeSync(openSync(join(directory, "fifo"), constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader waiting, or no FIFO: nothing to release
      }
    });

    it("a FIFO or a device is an IdentityFileError (NOT_REGULAR_FILE), without waiting for a writer or reading", async () => {
      const fifo = join(directory, "fifo");
      execFileSync("mkfifo", [fifo]);
      for (const path of [fifo, "/dev/null"]) {
        const error = await loadIdentity(path).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(IdentityFileError);
        expect(error).toMatchObject({ code: "IDENTITY_FILE_FAILED", path, reason: "NOT_REGULAR_FILE" });
        expect((error as Error).message).toBe(`loadIdentity: the identity file ${JSON.stringify(path)} is ${path === fifo ? "a FIFO" : "a character device"}, not a regular file`);
      }
    });

    it("a file larger than MAX_IDENTITY_FILE_BYTES is an IdentityFileError (FILE_TOO_LARGE); one of that size is read", async () => {
      expect(MAX_IDENTITY_FILE_BYTES).toBe(64 * 1024);
      const path = join(directory, "large.json");
      await writeFile(path, " ".repeat(MAX_IDENTITY_FILE_BYTES + 1));
      await expect(loadIdentity(path)).rejects.toMatchObject({
        code: "IDENTITY_FILE_FAILED",
        path,
        reason: "FILE_TOO_LARGE",
        message: `loadIdentity: the identity file ${JSON.stringify(path)} holds more than 65536 bytes: it is no identity file`,
      });
      const identity = createIdentity();
      const text = JSON.stringify(exportIdentity(identity));
      await writeFile(path, text + " ".repeat(MAX_IDENTITY_FILE_BYTES - text.length));
      expect((await loadIdentity(path)).identifier).toBe(identity.identifier);
    });
  });
});
