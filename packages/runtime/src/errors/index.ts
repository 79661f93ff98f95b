export * from "./hopwire-error.js";
export * from "./errors.js";
export * from "./stackless.js";
