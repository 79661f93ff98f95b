import { createServer } from "node:net";
const server = createServer((s) => { s.on("data", () => {}); s.on("error", () => {}); });
server.listen(0, "127.0.0.1", () => process.send(server.address().port));
process.on("disconnect", () => process.exit(0));
