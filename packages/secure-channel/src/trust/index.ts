export { trustCustom, trustEveryone, trustIdentifier, trustIdentifiers, type TrustContext, type TrustPolicy } from "./trust-policy.js";
