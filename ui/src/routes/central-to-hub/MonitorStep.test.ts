import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { LiveMigration } = await import("../../lib/migration.svelte");
const MonitorStep = (await import("./MonitorStep.svelte")).default;

const device = (key: string, state: string, reason: string | null = null) => ({ kind: "device", key, state, reason });
const tick = (jobs: Record<string, string>, changed = [device("a", "verified")]) => ({ kind: "tick" as const, elapsedMs: 1000, counts: { verified: 1 }, jobs, changed });

function watching(jobs: Record<string, string>) {
  const live = new LiveMigration("centralToHub", "m1");
  live.running = true;
  live.onProgress(tick(jobs));
  return live;
}

describe("MonitorStep", () => {
  beforeEach(() => {
    invoke.mockReset();
    invoke.mockImplementation(async (command: string) => {
      if (command === "migration_items") return { kind: "device", counts: {}, rows: [] };
      if (command === "migration_act") return { changed: 1 };
      if (command === "migration_report") return { wizard: "centralToHub", report: { devices: [] } };
      return null;
    });
  });

  it("offers no Stop the job or Resume the job once the job completed, while it still watches", () => {
    render(MonitorStep, { live: watching({ j1: "completed" }), onReport: () => {} });
    expect(screen.queryByRole("button", { name: "Stop the job" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Resume the job" })).toBeNull();
    expect(screen.getByRole("button", { name: "Stop watching" })).toBeTruthy();
  });

  it("asks before stopping the job, naming how many run, then says what it did in words", async () => {
    render(MonitorStep, { live: watching({ j1: "running", j2: "running" }), onReport: () => {} });
    await fireEvent.click(screen.getByRole("button", { name: "Stop the job" }));
    expect(screen.getByRole("dialog").textContent).toContain("Stop 2 running Central jobs?");
    expect(invoke).not.toHaveBeenCalledWith("migration_act", expect.anything());
    await fireEvent.click(screen.getByTestId("confirm-stop-yes"));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("migration_act", { id: "m1", action: "stopJobs" }));
    expect((await screen.findByTestId("notice")).textContent).toContain("Stopped the Central job; devices not reached yet stay on Central");
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("after Stop watching says stopped and offers Resume, with no red error and no code", () => {
    const live = watching({ j1: "running" });
    live.onProgress({ kind: "finished", ok: false, code: "migration.cancelled", message: "The migration was stopped before it finished; Resume continues it.", requestId: null, counts: { verified: 1 } });
    render(MonitorStep, { live, onReport: () => {} });
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.getByTestId("headline").textContent).toMatch(/^Stopped/);
    expect(screen.getByRole("button", { name: "Resume" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Stop watching" })).toBeNull();
  });

  it("the table's shown count and the tiles count the same rows", async () => {
    const live = watching({ j1: "running" });
    live.onProgress(tick({ j1: "running" }, [device("b", "failed", "noAnswer"), device("c", "pending")]));
    render(MonitorStep, { live, onReport: () => {} });
    expect(screen.getByTestId("shown").textContent).toBe("3 of 3 shown");
    const tile = (state: string) => Number(document.querySelector(`[data-state='${state}'] strong`)!.textContent);
    expect([tile("verified"), tile("failed"), tile("pending")]).toEqual([1, 1, 1]);
    await fireEvent.click(document.querySelector("[data-state='failed']")!);
    expect(screen.getByTestId("shown").textContent).toBe("1 of 3 shown");
  });
});
