// A throwaway self-signed X.509 certificate for the node:tls baseline, made at run time
// with node:crypto and a few lines of DER, so the benchmark needs neither the openssl CLI
// nor a committed key. ECDSA P-256 by default because every TLS 1.3 stack accepts it;
// Ed25519 for the handshake baseline, as Hopwire's identities are Ed25519 keys.
import { generateKeyPairSync, sign } from "node:crypto";

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      groups.unshift((v % 128) | (groups.length ? 0x80 : 0));
      if (v < 128) break;
    }
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}
const utcTime = (d: Date): Buffer =>
  tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z", "ascii"));

export interface SelfSigned {
  certPem: string;
  /** PKCS#8 PEM: node:tls takes keys as PEM, not as KeyObject. */
  keyPem: string;
}

export type CertKey = "p256" | "ed25519";

/** A certificate for `host` (CN and subjectAltName DNS), valid from an hour ago for a day. */
export function makeSelfSignedCert(host = "localhost", key: CertKey = "p256"): SelfSigned {
  const { privateKey, publicKey } = key === "ed25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
  // The signature algorithm: ecdsa-with-SHA256, or Ed25519 (RFC 8410: no parameters, no separate hash).
  const ecdsaWithSha256 = key === "ed25519" ? seq(oid("1.3.101.112")) : seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(set(seq(oid("2.5.4.3"), tlv(0x0c, Buffer.from(host, "utf8")))));
  const now = Date.now();
  const subjectAltName = seq(oid("2.5.29.17"), tlv(0x04, seq(tlv(0x82, Buffer.from(host, "ascii")))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, Buffer.from([0x01, ...Array.from({ length: 8 }, () => (Math.random() * 256) | 0)])), // positive serial
    ecdsaWithSha256,
    name,
    seq(utcTime(new Date(now - 3600e3)), utcTime(new Date(now + 86400e3))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    tlv(0xa3, seq(subjectAltName)),
  );
  const signature = sign(key === "ed25519" ? null : "sha256", tbs, privateKey); // ECDSA: DER-encoded; Ed25519: 64 raw bytes
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return { certPem: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`, keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}
