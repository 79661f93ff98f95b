export { Address, LOCAL, MAX_ADDRESS_VALUE_BYTES, toAddress, type AddressLike } from "./address.js";
export { formatHostPort, hostPortProblem, parseHostPort, type HostPort, type HostPortRules, type ParseHostPortOptions } from "./host-port.js";
