export { Address, LOCAL, toAddress, type AddressLike } from "./address.js";
export { formatHostPort, parseHostPort, type HostPort, type ParseHostPortOptions } from "./host-port.js";
