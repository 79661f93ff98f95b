// Registers every built-in scenario. Order matters only for display: baselines first.
// A new family (runtime/, tcp/, secure-channel/) adds its file here.
import "./baselines/messageport.js";
import "./baselines/tcp-framed.js";
import "./baselines/tcp-proxy.js";
import "./baselines/tls.js";
import "./baselines/aead.js";
import "./runtime/local-routing.js";
import "./runtime/pool-scaling.js";
import "./tcp/tcp.js";
import "./secure-channel/secure-channel.js";
import "./peers/libp2p.js";
import "./scale/channels.js";
import "./scale/raw-records.js";
import "./scale/handshakes.js";
import "./backpressure/slow-consumer.js";
import "./backpressure/bulk-via-relay.js";
import "./portal/portal.js";

// After every target above: check/warm-* looks its targets up by name.
import { registerWarmChecks } from "./check/warm-check.js";
registerWarmChecks();
