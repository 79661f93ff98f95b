export { trustCustom, trustEveryone, trustIdentifier, trustIdentifiers, type IdentifierLike, type TrustContext, type TrustPolicy } from "./trust-policy.js";
