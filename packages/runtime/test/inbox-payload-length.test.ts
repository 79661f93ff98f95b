import { describe, expect, it } from "vitest";
import { Address, LocalMessage, route } from "@hopwire/runtime";
import { Inbox } from "../dist/context/inbox.js";

// The inbox counts the payload bytes it holds (INBOX_MAX_BYTES): by payloadLength, without making the
// payload (a view per message, or a joined copy of a message in parts held beside its parts until receive()).
describe("the node's inbox bound", () => {
  it("counts a queued message's payload by its length, without joining a payload given in parts", async () => {
    const inbox = new Inbox(new Address(0, "app"));
    const message = LocalMessage.fromParts(route("app"), route("peer"), [new Uint8Array([0xa1]), new Uint8Array([0x78])]);
    let made = 0;
    const payload = Object.getOwnPropertyDescriptor(LocalMessage.prototype, "payload")!.get!;
    Object.defineProperty(message, "payload", { get() { made++; return payload.call(this); } });
    inbox.deliver(message);
    expect(made).toBe(0);
    const got = await inbox.receive<string>({});
    expect(got.body).toBe("x");
  });
});
