export { identifierFromPublicKey, isIdentifier, parseIdentifier, type Identifier } from "./identifier.js";
export { createIdentity, Identity, identityFromSecretKey, verifyIdentitySignature } from "./identity.js";
export { exportIdentity, IDENTITY_EXPORT_FORMAT, IDENTITY_EXPORT_VERSION, importIdentity, type ExportedIdentity } from "./identity-export.js";
export { loadIdentity, MAX_IDENTITY_FILE_BYTES, saveIdentity, type IdentityFileOptions } from "./identity-file.js";
export { assertIdentity, type ArgumentName } from "./identity-argument.js";
