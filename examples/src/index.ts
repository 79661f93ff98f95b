// The hello workers, for examples that import them from the package.
export { Echoer, Hop } from "./hello/index.js";
