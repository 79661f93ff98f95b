export { applyPlainOptions, checkWaitOptions, isPlainObject, type PlainOptionHandlers } from "./plain-options.js";
