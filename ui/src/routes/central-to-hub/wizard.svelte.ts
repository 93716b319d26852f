// The Central → Hub wizard's own state (its step, the plan being written, the last dry run),
// kept across pages; the migration it shows comes from the window's live migrations.
import type { DryRun, Plan } from "../../lib/bindings";
import { migrations, type LiveMigration } from "../../lib/migration.svelte";

/** Where a device is in the move, in the order a device goes through them. */
export const DEVICE_STATES = ["pending", "answered", "registered", "verified", "failed"] as const;

export type C2hStep = "plan" | "dryRun" | "run" | "verify" | "report";

export function emptyPlan(): Plan {
  return {
    source: { subdomain: "", access: { kind: "signedIn" }, templateId: "", deviceGroups: [], includeAlreadyInTarget: false },
    target: { subscriptionId: "", resourceGroup: "", dpsName: "", hubName: "", hubResourceGroup: null, linkHubIfNeeded: true },
    // The DPS group name is proposed per app and template once they are chosen (PlanStep).
    enrollment: { centralGroupId: "sas-iot-devices", dpsGroupId: "", x509CertificatePem: null },
    job: { payload: "fromTemplate", batchSize: null, cancellationThresholdPercent: null },
    verify: { settleSeconds: 120 },
  };
}

class CentralToHubWizard {
  step = $state<C2hStep>("plan");
  plan = $state(emptyPlan());
  dry = $state<DryRun | null>(null);
  /** The migration the wizard's pages show. */
  get live(): LiveMigration<"centralToHub"> {
    return migrations.shownFor("centralToHub");
  }
}

export const c2h = new CentralToHubWizard();
