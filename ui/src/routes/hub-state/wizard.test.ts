import { describe, expect, it } from "vitest";
import type { HubStateDryRun } from "../../lib/bindings";
import { emptyPlan, planFor, replaceQuestion } from "./wizard.svelte";

const dry = (counts: HubStateDryRun["counts"]): HubStateDryRun => ({ action: "migrate", counts, changes: [], listedAll: true, variant: null });

describe("the Hub state plan", () => {
  it("sends only the fields its mode uses", () => {
    const hub = { subscriptionId: "s", resourceGroup: "rg", hubName: "a" };
    const plan = { ...emptyPlan(), source: hub, target: { ...hub, hubName: "b" }, file: "/tmp/x.json", replace: true };
    expect(planFor({ ...plan, action: "migrate" })).toMatchObject({ file: null, variant: null, replace: true });
    expect(planFor({ ...plan, action: "export" })).toMatchObject({ target: null, variant: "json", replace: false, file: "/tmp/x.json" });
    expect(planFor({ ...plan, action: "import" })).toMatchObject({ source: null, variant: null, replace: true });
  });

  it("asks before Replace deletes, naming what the dry run would delete", () => {
    const q = replaceQuestion(dry({ device: { create: 3, delete: 2 }, module: { delete: 1 }, configuration: { unchanged: 4 } }), "hub-b");
    expect(q?.title).toBe("Delete 2 devices, 1 module from hub-b?");
    expect(replaceQuestion(dry({ device: { create: 3 } }), "hub-b")).toBeNull();
  });
});
