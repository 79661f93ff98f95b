export { createSecureChannelListener, SecureChannelListener } from "./secure-channel-listener.js";
