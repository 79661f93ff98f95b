export { applyPlainOptions, isPlainObject, type PlainOptionHandlers } from "./plain-options.js";
