import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { MigrationEntry } from "../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const JobsPage = (await import("./JobsPage.svelte")).default;

const entry = (id: string, state: MigrationEntry["summary"]["state"], runningHere: boolean, counts: Record<string, number> = {}): MigrationEntry => ({
  summary: { id, wizard: "centralToHub", title: `app → hub (${id})`, state, createdAt: "2026-11-23T10:00:00Z", updatedAt: "2026-11-23T10:05:00Z", stepsDone: 5, stepsFailed: 0 },
  runningHere,
  counts,
});

describe("JobsPage", () => {
  beforeEach(() => invoke.mockReset());

  it("offers Resume only for a migration the journal says runs but this window does not", async () => {
    invoke.mockImplementation(async (command: string) => {
      if (command === "migration_list") return [entry("interrupted", "running", false), entry("live", "running", true), entry("done", "completed", false)];
      if (command === "migration_items") return { kind: "device", counts: {}, rows: [] };
      return null;
    });
    render(JobsPage);
    await waitFor(() => expect(screen.getAllByRole("row").length).toBe(4));
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-id"))).toEqual(["interrupted", "live", "done"]);
    expect(rows[0].textContent).toContain("interrupted");
    expect(rows[0].querySelector("[data-testid='resume']")).not.toBeNull();
    expect(rows[1].querySelector("[data-testid='resume']")).toBeNull();
    expect(rows[2].querySelector("[data-testid='resume']")).toBeNull();

    await fireEvent.click(rows[0].querySelector("[data-testid='resume']")!);
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("migration_resume", expect.objectContaining({ id: "interrupted" })));
    expect(location.hash).toBe("#/wizard/centralToHub/interrupted");
  });

  it("offers what the wizard offers: a failed migration can be resumed there, so it can here", async () => {
    invoke.mockImplementation(async (command: string) => {
      if (command === "migration_list") return [entry("failed", "failed", false, { pending: 200 }), entry("done", "completed", false, { verified: 160, failed: 40 })];
      return { kind: "device", counts: {}, rows: [] };
    });
    render(JobsPage);
    await waitFor(() => expect(screen.getAllByRole("row").length).toBe(3));
    const [failed, done] = screen.getAllByRole("row").slice(1);
    const { actionsOf } = await import("../lib/migration.svelte");
    expect(actionsOf({ state: "failed", runningHere: false, failed: 0 })).toContain("resume");
    expect(failed.querySelector("[data-testid='resume']")).not.toBeNull();
    expect(done.querySelector("[data-testid='resume']")).toBeNull();
    // Each row says how many devices it moves, and where they are.
    expect(failed.querySelector("[data-testid='device-counts']")!.textContent).toContain("200");
    expect(done.querySelector("[data-testid='device-counts']")!.textContent!.replace(/\s+/g, " ")).toContain("200 160 verified, 40 failed");
  });

  it("says so when there is nothing yet", async () => {
    invoke.mockResolvedValue([]);
    render(JobsPage);
    expect(await screen.findByText("No migrations yet")).toBeTruthy();
  });
});
