import { describe, expect, it } from "vitest";
import type { DpsLinkedHubsDryRun } from "../../lib/bindings";
import { afterChange, emptyAction, fromJson, labelOf, shares, unlinkBlocked, weightProblem, type Allocated } from "./wizard.svelte";

const weu: Allocated = { host: "contoso-hub-weu.localhost", weight: 1, apply: true, location: "westeurope" };
const neu: Allocated = { host: "contoso-hub-neu.localhost", weight: 3, apply: true, location: "northeurope" };

describe("the expected share of registrations", () => {
  it("spreads by weight under hashed, among the hubs the policy applies to", () => {
    expect(shares([weu, neu], "Hashed", "westeurope")).toEqual({ [weu.host]: 0.25, [neu.host]: 0.75 });
    expect(shares([weu, { ...neu, apply: false }], "Hashed", "westeurope")).toEqual({ [weu.host]: 1, [neu.host]: 0 });
    expect(shares([{ ...weu, apply: false }], "Hashed", "westeurope")).toEqual({ [weu.host]: 0 });
  });

  it("sends everything to the first hub under static, and to the DPS's region under geo latency", () => {
    expect(shares([neu, weu], "Static", "westeurope")).toEqual({ [neu.host]: 1, [weu.host]: 0 });
    expect(shares([neu, weu], "GeoLatency", "westeurope")).toEqual({ [neu.host]: 0, [weu.host]: 1 });
    // No hub in the DPS's region: hashed among them.
    expect(shares([neu, weu], "GeoLatency", "eastus")).toEqual({ [neu.host]: 0.75, [weu.host]: 0.25 });
  });

  it("shows the change before it is made: a weight raised, a hub linked, a hub unlinked", () => {
    const update = { kind: "update" as const, host: weu.host, allocationWeight: 3, applyAllocationPolicy: null };
    expect(shares(afterChange([weu, neu], update), "Hashed", "westeurope")).toEqual({ [weu.host]: 0.5, [neu.host]: 0.5 });
    const link = { ...emptyAction("link"), allocationWeight: 2 } as ReturnType<typeof emptyAction> & { kind: "link" };
    const linked = afterChange([weu], link, { host: "Contoso-Hub-EUS.localhost", location: "eastus" });
    expect(linked.map((h) => [h.host, h.weight])).toEqual([[weu.host, 1], ["contoso-hub-eus.localhost", 2]]);
    expect(afterChange([weu, neu], { kind: "unlink", hosts: [neu.host], editEnrollments: false })).toEqual([weu]);
  });

  it("reads the dry run's masked JSON with DPS's defaults (weight 1, the policy applied)", () => {
    const hubs = fromJson([{ name: "A.localhost", location: "westeurope", connectionString: "HostName=a;SharedAccessKey=****" }, { name: "b", allocationWeight: 7, applyAllocationPolicy: false }]);
    expect(hubs).toEqual([
      { host: "a.localhost", weight: 1, apply: true, location: "westeurope" },
      { host: "b", weight: 7, apply: false, location: "" },
    ]);
  });
});

describe("a hub's name", () => {
  it("is ARM's name when known, else the host's first label, else the whole host", () => {
    expect(labelOf("localhost:35049", { "localhost:35049": "contoso-hub-weu" })).toBe("contoso-hub-weu");
    expect(labelOf("Contoso-Hub-NEU.azure-devices.net")).toBe("Contoso-Hub-NEU");
    expect(labelOf("localhost:35049")).toBe("localhost:35049");
  });
});

describe("the change's checks", () => {
  it("takes weights from 1 to 1000 only", () => {
    expect([null, 1, 1000].map(weightProblem)).toEqual([null, null, null]);
    expect([0, 1001, 2.5].every((w) => weightProblem(w) !== null)).toBe(true);
  });

  it("holds an unlink back until the person allows editing the enrollments that name the hub", () => {
    const dry = { pinned: [{ kind: "group", id: "both", iotHubs: [weu.host, neu.host] }] } as DpsLinkedHubsDryRun;
    expect(unlinkBlocked(dry, { kind: "unlink", hosts: [neu.host], editEnrollments: false })).toBe(true);
    expect(unlinkBlocked(dry, { kind: "unlink", hosts: [neu.host], editEnrollments: true })).toBe(false);
    expect(unlinkBlocked({ ...dry, pinned: [] }, { kind: "unlink", hosts: [neu.host], editEnrollments: false })).toBe(false);
  });
});
