import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Report, ReportRow } from "../../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { LiveMigration } = await import("../../lib/migration.svelte");
const ReportStep = (await import("./ReportStep.svelte")).default;

const row = (deviceId: string, state: ReportRow["state"], reasonCode: string | null, attempts = 1, earlierReasons: string[] = []): ReportRow => ({
  deviceId,
  state,
  reasonCode,
  reason: reasonCode ? `sentence for ${reasonCode}` : null,
  attempts,
  earlierReasons,
});
const step = (key: string) => ({ key, intent: {}, outcome: { jobId: "j" }, errorCode: null, errorMessage: null, startedAt: "", finishedAt: "" });
const report: Report = {
  migrationId: "m1",
  title: "contoso-fleet → contoso-hub-neu via contoso-dps",
  state: "completed",
  createdAt: "",
  updatedAt: "",
  total: 4,
  verified: 2,
  failed: 2,
  unfinished: 0,
  leftOut: 0,
  byReason: { noAnswer: 1, noDeviceMove: 1 },
  retries: [{ attempt: 1, retried: 3, moved: 2, leftOut: 1 }],
  steps: [step("job:thermostats"), step("job:sensors")],
  devices: [row("thermostat-1", "verified", null, 2, ["noAnswer"]), row("thermostat-2", "verified", null), row("sensor-1", "failed", "noAnswer", 2, ["noAnswer"]), row("sensor-2", "failed", "noDeviceMove")],
};

describe("ReportStep", () => {
  beforeEach(() => {
    invoke.mockReset();
    invoke.mockImplementation(async (command: string) => {
      if (command === "migration_report") return { wizard: "centralToHub", report };
      if (command === "migration_items") return { kind: "device", counts: {}, rows: [] };
      if (command === "migration_export") return "/home/ada/Reports/fleet.csv";
      return null;
    });
  });

  it("says what each retry did, and the table shows each device's attempts", async () => {
    render(ReportStep, { live: new LiveMigration("centralToHub", "m1"), onRetry: () => {} });
    expect((await screen.findByTestId("retries")).textContent!.replace(/\s+/g, " ")).toContain("Retry 1: 3 retried, 2 moved; 1 left out (no DeviceMove in their firmware)");
    expect(screen.getByTestId("report-table").textContent).toContain("Attempts");
  });

  it("finds devices by ID or reason", async () => {
    render(ReportStep, { live: new LiveMigration("centralToHub", "m1"), onRetry: () => {} });
    const search = await screen.findByTestId("report-search");
    await fireEvent.input(search, { target: { value: "sensor" } });
    expect(screen.getByTestId("report-shown").textContent).toBe("2 of 4 shown");
    await fireEvent.input(search, { target: { value: "noDeviceMove" } });
    expect(screen.getByTestId("report-table").getAttribute("data-rows")).toBe("1");
  });

  it("asks before a retry in counts, leaving out devices without DeviceMove unless ticked", async () => {
    const onRetry = vi.fn();
    render(ReportStep, { live: new LiveMigration("centralToHub", "m1"), onRetry });
    await fireEvent.click(await screen.findByTestId("retry"));
    expect(screen.getByRole("dialog").textContent).toContain("Send DeviceMove again to 1 device in 2 jobs?");
    await fireEvent.click(screen.getByTestId("include-no-device-move"));
    expect(screen.getByRole("dialog").textContent).toContain("Send DeviceMove again to 2 devices in 2 jobs?");
    await fireEvent.click(screen.getByTestId("confirm-retry-yes"));
    expect(onRetry).toHaveBeenCalledWith(true);
  });

  it("saves where the person chose and offers to show the folder", async () => {
    render(ReportStep, { live: new LiveMigration("centralToHub", "m1"), onRetry: () => {} });
    await fireEvent.click(await screen.findByTestId("export-csv"));
    expect((await screen.findByTestId("saved")).textContent).toBe("Saved /home/ada/Reports/fleet.csv");
    await fireEvent.click(screen.getByTestId("show-in-folder"));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("show_in_folder", { path: "/home/ada/Reports/fleet.csv" }));
  });

  it("says nothing when the save dialog was cancelled", async () => {
    invoke.mockImplementation(async (command: string) => (command === "migration_report" ? { wizard: "centralToHub", report } : null));
    render(ReportStep, { live: new LiveMigration("centralToHub", "m1"), onRetry: () => {} });
    await fireEvent.click(await screen.findByTestId("export-json"));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("migration_export", { id: "m1", format: "json" }));
    expect(screen.queryByTestId("saved")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
