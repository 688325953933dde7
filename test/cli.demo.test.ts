import { describe, expect, it } from "vitest";
import { runDemo } from "../cli/demo.js";

describe("vmspace demo", () => {
  it("prints each step with the KERN code the map returned and the entries after it", () => {
    const out = runDemo();
    expect(out).toContain("find 64 KiB anywhere (first fit) at 0x000010000 -> KERN_SUCCESS");
    expect(out).toMatch(/clipped in three -> KERN_SUCCESS\n(.*\n){3}\s+3 entries/);
    expect(out).toMatch(/merge back -> KERN_SUCCESS\n.*\n\s+1 entries/);
    expect(out).toContain("refused, the range is occupied -> KERN_NO_SPACE");
    expect(out).toContain("reuses the hole at 0x000010000 -> KERN_SUCCESS");
    expect(out.trimEnd().endsWith("audit passed after every step")).toBe(true);
  });
});
