import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { LiveMigration, migrations } = await import("./migration.svelte");

const device = (key: string, state: string) => ({ kind: "device", key, state, reason: null });

describe("a live migration", () => {
  beforeEach(() => invoke.mockReset());

  it("lists every device once they are chosen, keeping what ticks already said", async () => {
    const migration = new LiveMigration("centralToHub", "m1");
    let answer!: (page: unknown) => void;
    invoke.mockImplementation((command: string) => (command === "migration_items" ? new Promise((resolve) => (answer = resolve)) : Promise.resolve(null)));
    migration.onProgress({ kind: "step", key: "select-devices", title: "List", state: "done", detail: null });
    // A tick lands while the journal read is under way: its news must survive the read.
    migration.onProgress({ kind: "tick", elapsedMs: 100, counts: { verified: 1, pending: 2 }, jobs: { j1: "running" }, changed: [device("a", "verified")] });
    answer({ kind: "device", counts: { pending: 3 }, rows: ["a", "b", "c"].map((key) => device(key, "pending")) });
    await vi.waitFor(() => expect(migration.rows.size).toBe(3));
    expect(migration.rows.get("a")?.state).toBe("verified");
    expect(migration.rows.get("b")?.state).toBe("pending");
    expect(migration.history.length).toBe(1);
    expect(migration.news?.jobs).toEqual({ j1: "running" });
    expect(invoke).toHaveBeenCalledWith("migration_items", { id: "m1", kind: null, filter: null, offset: 0, limit: 50_000 });
  });
});

describe("the live migrations of the window", () => {
  beforeEach(() => invoke.mockReset());

  it("keeps one live view per migration ID, and shows on each wizard's page the one it opened", async () => {
    invoke.mockResolvedValue({ kind: "device", counts: {}, rows: [] });
    const first = migrations.get("m1", "centralToHub");
    expect(migrations.get("m1", "centralToHub")).toBe(first);
    expect(migrations.get("m2", "centralToHub")).not.toBe(first);
    expect(migrations.shownFor("centralToHub").id).toBeNull();
    migrations.show("m1", "centralToHub");
    expect(migrations.shownFor("centralToHub")).toBe(first);
    migrations.clear("centralToHub");
    expect(migrations.shownFor("centralToHub").id).toBeNull();
  });

  it("starts a migration of a tagged plan and follows it under the ID the shell answers", async () => {
    invoke.mockImplementation(async (command: string) => (command === "migration_start" ? "m9" : null));
    const plan = { wizard: "centralToHub", plan: {} } as never;
    const live = await migrations.start(plan);
    expect(invoke).toHaveBeenCalledWith("migration_start", expect.objectContaining({ plan }));
    expect(live.id).toBe("m9");
    expect(migrations.get("m9", "centralToHub")).toBe(live);
    expect(migrations.shownFor("centralToHub")).toBe(live);
  });
});

describe("a retry of a migration", () => {
  beforeEach(() => invoke.mockReset());

  it("starts its chart and steps over, and asks for devices without DeviceMove only when told", async () => {
    invoke.mockResolvedValue(null);
    const migration = new LiveMigration("centralToHub", "m1");
    migration.onProgress({ kind: "step", key: "verify", title: "Verify", state: "done", detail: null });
    migration.onProgress({ kind: "tick", elapsedMs: 90_000, counts: { verified: 160, failed: 40 }, jobs: {}, changed: [] });
    migration.onProgress({ kind: "finished", ok: true, code: null, message: null, requestId: null, counts: { verified: 160, failed: 40 } });
    expect(migration.actions).toEqual(["report", "retry", "planAnother"]);
    await migration.retry();
    expect(invoke).toHaveBeenCalledWith("migration_retry", expect.objectContaining({ id: "m1", includeUnlikely: false }));
    expect(migration.history).toEqual([]);
    expect(migration.steps).toEqual([]);
    expect(migration.retrying).toBe(true);
    expect(migration.actions).toEqual(["stopWatching", "planAnother"]);
    await migration.retry(true);
    expect(invoke).toHaveBeenLastCalledWith("migration_retry", expect.objectContaining({ includeUnlikely: true }));
  });
});
