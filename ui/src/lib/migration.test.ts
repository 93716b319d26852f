import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { migration } = await import("./migration.svelte");

describe("the live migration", () => {
  beforeEach(() => {
    invoke.mockReset();
    migration.reset("m1");
  });

  it("lists every device once they are chosen, keeping what ticks already said", async () => {
    let answer!: (page: unknown) => void;
    invoke.mockImplementation((command: string) => (command === "c2h_devices" ? new Promise((resolve) => (answer = resolve)) : Promise.resolve(null)));
    migration.onProgress({ kind: "step", key: "select-devices", title: "List", state: "done", detail: null });
    // A tick lands while the journal read is under way: its news must survive the read.
    migration.onProgress({ kind: "tick", elapsedMs: 100, counts: { verified: 1, pending: 2 }, jobs: {}, changed: [{ deviceId: "a", state: "verified", reason: null }] });
    answer({ counts: { pending: 3 }, rows: ["a", "b", "c"].map((deviceId) => ({ deviceId, state: "pending", reason: null })) });
    await vi.waitFor(() => expect(migration.rows.size).toBe(3));
    expect(migration.rows.get("a")?.state).toBe("verified");
    expect(migration.rows.get("b")?.state).toBe("pending");
    expect(migration.history.length).toBe(1);
  });
});
