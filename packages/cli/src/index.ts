/**
 * @hopwire/cli: the `hopwire` command (bin) and the functions behind it, for programs
 * that want to start a node from the same configuration. See docs/cli.md.
 */
export { runCli, type CliIo } from "./cli.js";
export { loadConfigFile, MAX_CONFIG_FILE_BYTES, parseConfig, resolvePeer } from "./config/load-config.js";
export { nodeConfigSchema, type NodeConfig, type NodeConfigInput, type TrustConfig } from "./config/schema.js";
export { startNodeFromConfig, resolveIdentity, type RunningNode, type StartNodeOptions, type LineLog } from "./node/start-node.js";
export { runNode, STOP_TIMEOUT_MS } from "./node/run-node.js";
export { hopwireHome, identitiesDir, identityFile, HOPWIRE_HOME_ENV } from "./home.js";
export { createNamedIdentity, loadNamedIdentity, loadIdentityFile, listIdentityNames, type IdentityLoadOptions } from "./identities.js";
export { ConfigError, IdentityStoreError, EXIT_CONFIG, EXIT_FAILURE, EXIT_BROKEN_PIPE, formatPath } from "./errors.js";
