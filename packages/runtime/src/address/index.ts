export { Address, LOCAL, toAddress, type AddressLike } from "./address.js";
export { formatHostPort, hostPortProblem, parseHostPort, type HostPort, type HostPortRules, type ParseHostPortOptions } from "./host-port.js";
