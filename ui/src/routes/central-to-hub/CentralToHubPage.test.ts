import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { tick } from "svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { DryRun, Wizard } from "../../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { migrations } = await import("../../lib/migration.svelte");
const { c2h, railSteps, runQuestion } = await import("./wizard.svelte");
const CentralToHubPage = (await import("./CentralToHubPage.svelte")).default;

const wizard: Wizard = { id: "centralToHub", title: "Central → Hub", summary: "Move devices.", whatItDoes: [], steps: ["plan", "dryRun", "run", "verify", "report"], available: true };

/** Goes to `hash` as a link does (the router hears it). */
function open(hash: string) {
  location.hash = hash;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** A migration that failed at run time, shown on the wizard's monitor. */
function failedMigration(id: string) {
  const live = migrations.show(id, "centralToHub");
  live.onProgress({ kind: "step", key: "template", title: "Check the template", state: "failed", detail: "refused" });
  live.onProgress({ kind: "finished", ok: false, code: "centralToHub.dps_forbidden", message: "DPS refused", requestId: null, counts: {} });
  c2h.step = "run";
  return live;
}

describe("the Central → Hub wizard never strands a person", () => {
  beforeEach(() => {
    invoke.mockReset();
    invoke.mockImplementation(async (command: string) => (command === "migration_items" ? { kind: "device", counts: {}, rows: [] } : command === "migration_list" ? [] : null));
    open("#/wizard/centralToHub");
    migrations.clear("centralToHub");
    c2h.step = "plan";
  });

  it("offers Plan another migration after a failure, and it opens a fresh plan", async () => {
    render(CentralToHubPage, { wizard });
    failedMigration("m-failed");
    await tick();
    expect(screen.getByRole("button", { name: "Resume" })).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Plan another migration" }));
    expect(c2h.step).toBe("plan");
    expect(migrations.shownFor("centralToHub").id).toBeNull();
    expect(screen.queryByRole("button", { name: "Plan another migration" })).toBeNull();
  });

  it("lets the rail go back to a completed step", async () => {
    render(CentralToHubPage, { wizard });
    failedMigration("m-rail");
    await tick();
    await fireEvent.click(screen.getByTestId("rail-plan"));
    expect(c2h.step).toBe("plan");
  });

  it("the sidebar's entry opens a fresh plan once the migration shown has ended", async () => {
    open("#/wizard/centralToHub/m-side");
    failedMigration("m-side");
    const page = render(CentralToHubPage, { wizard, migrationId: "m-side" });
    await tick();
    expect(c2h.step).toBe("run");
    // What the sidebar's link does: the route without a migration (App passes no migration then).
    open("#/wizard/centralToHub");
    await page.rerender({ wizard, migrationId: null });
    await waitFor(() => expect(c2h.step).toBe("plan"));
    expect(migrations.shownFor("centralToHub").id).toBeNull();
  });

  it("keeps a running migration on its monitor when the sidebar's entry is clicked", async () => {
    open("#/wizard/centralToHub/m-running");
    const live = migrations.show("m-running", "centralToHub");
    live.running = true;
    c2h.step = "run";
    const page = render(CentralToHubPage, { wizard, migrationId: "m-running" });
    open("#/wizard/centralToHub");
    await page.rerender({ wizard, migrationId: null });
    await tick();
    expect(c2h.step).toBe("run");
    expect(migrations.shownFor("centralToHub").id).toBe("m-running");
  });
});

describe("the rail and the Run question", () => {
  it("marks done only the steps before the active one that have something to show", () => {
    expect(railSteps({ active: "run", hasDryRun: false, migrationId: "m1", state: "failed" })).toEqual(["plan"]);
    expect(railSteps({ active: "report", hasDryRun: true, migrationId: "m1", state: "completed" })).toEqual(["plan", "dryRun", "run", "verify"]);
    expect(railSteps({ active: "plan", hasDryRun: true, migrationId: null, state: null })).toEqual([]);
  });

  it("names the devices and jobs Run will send DeviceMove to", () => {
    const dry = {
      readiness: { rows: Array.from({ length: 240 }, () => ({})), expectedToFail: 10, leftOut: 0 },
      changes: [{ kind: "linkHub" }, { kind: "createJob" }, { kind: "createJob" }],
    } as unknown as DryRun;
    const question = runQuestion(dry, "contoso-hub-neu");
    expect(question.title).toBe("Send DeviceMove to 240 devices in 2 jobs?");
    expect(question.lines.join(" ")).toContain("10 of them are expected to fail");
    // Devices already in the hub are left out of the count, and said so.
    const again = runQuestion({ ...dry, readiness: { ...dry.readiness, leftOut: 200 } } as DryRun, "contoso-hub-neu");
    expect(again.title).toBe("Send DeviceMove to 40 devices in 2 jobs?");
    expect(again.lines.join(" ")).toContain("200 more are already in the hub contoso-hub-neu and are left out");
  });
});
