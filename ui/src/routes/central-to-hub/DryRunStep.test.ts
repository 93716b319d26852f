import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { DryRun, ErrorPayload } from "../../lib/bindings";
import DryRunStep from "./DryRunStep.svelte";

const expected = (code: string) => ({ code, reason: `${code} sentence` });
const dry: DryRun = {
  command: { templateId: "dtmi:contoso:Thermostat;1", component: "migration", path: "migration.DeviceMove", payload: { object: { fields: ["idScope"] } } },
  payload: { idScope: "0ne000A1B2C", hubName: "contoso-hub-neu.azure-devices.net", deviceMigrationPayloadName: "x" },
  dps: { name: "contoso-dps", idScope: "0ne000A1B2C", allocationPolicy: "Hashed", serviceHost: "global.azure-devices-provisioning.net", linkedHubs: [] },
  hubHost: "contoso-hub-neu.azure-devices.net",
  changes: [{ kind: "linkHub", description: "Link the hub contoso-hub-neu to the DPS contoso-dps (an ETag-guarded update of the DPS)." }],
  readiness: {
    groups: [{ id: "thermostats", displayName: "Thermostats", devices: 3, otherTemplates: 0 }],
    rows: [
      { deviceId: "t-1", displayName: "t-1", group: "thermostats", provisioned: true, enabled: true, attestation: "groupKey", expectedFailure: null, alreadyInTarget: null },
      { deviceId: "t-2", displayName: "t-2", group: "thermostats", provisioned: true, enabled: true, attestation: "ownKey", expectedFailure: expected("wrongKey"), alreadyInTarget: null },
      { deviceId: "t-3", displayName: "t-3", group: "thermostats", provisioned: false, enabled: true, attestation: "notChecked", expectedFailure: expected("notProvisioned"), alreadyInTarget: null },
      { deviceId: "t-4", displayName: "t-4", group: "thermostats", provisioned: true, enabled: true, attestation: "groupKey", expectedFailure: null, alreadyInTarget: { code: "alreadyInTarget", reason: "Already registered in the hub contoso-hub-neu (and connected there): moved before, so it is left out of this migration." } },
    ],
    ready: 1,
    expectedToFail: 2,
    byReason: { wrongKey: 1, notProvisioned: 1 },
    attestationChecked: true,
    leftOut: 1,
  },
  reasonWords: { wrongKey: "own key, not the group's", notProvisioned: "never connected to Central" },
  estimate: { lowSeconds: 5, highSeconds: 160, assumptions: "3 devices in 1 batch." },
  cannotKnow: ["Whether each device is online when the job reaches it."],
};

const props = { dry, onBack: () => {}, onRun: () => {}, starting: false };

describe("DryRunStep", () => {
  it("shows devices already in the target hub as left out, apart from the ready ones, and what a dry run cannot know", async () => {
    const { container } = render(DryRunStep, props);
    expect(screen.getByTestId("left-out-count").textContent).toBe("1");
    expect(screen.getByTestId("ready-count").textContent).toBe("1");
    expect(screen.getByTestId("cannot-know").textContent).toContain("online when the job reaches it");
    const leftOutFilter = [...container.querySelectorAll("label")].find((l) => l.textContent?.includes("Already in the target hub"));
    leftOutFilter!.querySelector("input")!.click();
    await Promise.resolve();
    const table = screen.getByTestId("readiness-table").textContent ?? "";
    expect(table).toContain("t-4");
    expect(table).toContain("already in the target hub (left out)");
    expect(table).not.toContain("t-1");
  });

  it("names each expected failure in words on its tile and in the table, never by its code", () => {
    const { container } = render(DryRunStep, props);
    const tiles = [...container.querySelectorAll(".tile[data-reason]")].map((t) => t.querySelector("span")?.textContent);
    expect(tiles.sort()).toEqual(["never connected to Central", "own key, not the group's"]);
    const table = screen.getByTestId("readiness-table").textContent ?? "";
    expect(table).toContain("own key, not the group's");
    expect(table).not.toContain("wrongKey");
    expect(container.textContent).not.toContain("notProvisioned");
  });

  it("lets the payload break only after a comma or a brace, never inside a name", () => {
    render(DryRunStep, props);
    const payload = screen.getByTestId("payload");
    expect(payload.textContent).toBe(JSON.stringify(dry.payload));
    // Each piece is drawn unbreakable (CSS: nowrap); the only break opportunities are the <wbr> between them.
    const pieces = [...payload.querySelectorAll("span")].map((n) => n.textContent ?? "");
    expect(pieces.length).toBeGreaterThan(2);
    for (const piece of pieces.slice(0, -1)) expect(piece).toMatch(/[,{]$/);
    expect(pieces.at(-1)).toBe('"deviceMigrationPayloadName":"x"}');
    expect(payload.querySelectorAll("wbr").length).toBe(pieces.length);
  });

  it("says why the run could not start beside the Run button", () => {
    const error: ErrorPayload = { code: "migration.alreadyRunning", message: "The migration m1 is already running.", detail: null, field: null, requestId: null };
    render(DryRunStep, { ...props, error });
    const alert = screen.getByRole("alert");
    expect(screen.getByTestId("run").compareDocumentPosition(alert) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(alert.querySelector("strong")?.textContent).toBe("The migration m1 is already running.");
  });
});
