import { describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn(), Channel: class {} }));
const { app } = await import("./app-state.svelte");

describe("start-up checks state", () => {
  it("lays out planned checks, then applies each update, then marks done", () => {
    app.onCheckEvent({ event: "planned", checks: [{ id: "settings", label: "Settings" }, { id: "environment", label: "Environment reachable" }] });
    expect(app.checks.map((c) => c.status)).toEqual(["pending", "pending"]);
    app.onCheckEvent({ event: "update", id: "environment", status: "warning", detail: "not yet" });
    expect(app.environmentCheck).toEqual({ id: "environment", label: "Environment reachable", status: "warning", detail: "not yet" });
    expect(app.checksDone).toBe(false);
    app.onCheckEvent({ event: "finished", passed: 1, warnings: 1, failed: 0 });
    expect(app.checksDone).toBe(true);
  });
});
