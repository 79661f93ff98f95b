/**
 * Where a worker thread loads a built-in worker class from (its `static module`): the module
 * that exports it under its own name, next to this file in either build — builtins/index.js
 * among the tsc files, the package entry (dist/bundle/index.js) in the bundle, where the
 * chunk a class sits in exports it under another name.
 */
export const BUILTINS_MODULE = new URL("./index.js", import.meta.url).href;
