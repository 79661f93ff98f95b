import { afterEach, describe, expect, it } from "vitest";
import { newHome, removeHomes, hopwireNodeWithFile } from "./processes.js";

afterEach(() => removeHomes());

describe("a configuration file that does not parse", { timeout: 60_000 }, () => {
  // The YAML parser's message goes on with an excerpt after "column N:"; the one line ended
  // with that dangling colon.
  const files: [string, string, string][] = [
    ["flow.yaml", "tcpListeners:\n  - address: [\n", "not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1"],
    ["twice.yaml", "identity: bob\nidentity: alice\n", "not valid YAML: Map keys must be unique at line 2, column 1"],
    ["tab.yaml", "tcpListeners:\n\t- address: 127.0.0.1:0\n", "not valid YAML: Tabs are not allowed as indentation at line 2, column 1"],
    // V8 quotes the text around a JSON mistake: here, a secret key pasted without quotes.
    ["key.json", `{"identity": {"secretKey": ${"deadbeef".repeat(8)}}}`, "not valid JSON: Unexpected token 'd'"],
    ["short.json", "abc", "not valid JSON: Unexpected token 'a'"],
    ["undefined.json", "undefined", "not valid JSON: the text is no JSON value"],
    ["position.json", '{"a": 1,}', "not valid JSON: Expected double-quoted property name in JSON at position 8"],
    // An excerpt that spans a line break: its first line (a part of the secret) went through.
    ["wrapped.json", `{"identity": {"secretKey": deadbeef\n${"deadbeef".repeat(7)}}}`, "not valid JSON: Unexpected token 'd'"],
    ["trailing.json", `{"trust": [\n  "${"deadbeef".repeat(8)}",\n  ]}`, "not valid JSON: Unexpected token ']'"],
  ];
  for (const [file, text, message] of files) {
    it(`${file}: one line naming the file and where, ending with the position`, async () => {
      const home = newHome();
      const { path, ...result } = await hopwireNodeWithFile(home, file, text);
      expect(result).toEqual({ code: 2, out: [], err: [`hopwire: ${path}: ${message}`] });
    });
  }
});
