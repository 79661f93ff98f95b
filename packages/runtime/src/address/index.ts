export { Address, LOCAL, toAddress, type AddressLike } from "./address.js";
