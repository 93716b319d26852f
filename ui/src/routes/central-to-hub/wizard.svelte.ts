// The Central → Hub wizard's own state (its step, the plan being written, the last dry run),
// kept across pages; the migration it shows comes from the window's live migrations.
import type { DryRun, MigrationState, Plan, WizardStep } from "../../lib/bindings";
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

const ORDER: WizardStep[] = ["plan", "dryRun", "run", "verify", "report"];

/** The steps the rail marks completed and lets the person go back to: those before the active
 *  one that have something to show (a dry run only once there is one; the run once it started). */
export function railSteps(at: { active: WizardStep; hasDryRun: boolean; migrationId: string | null; state: MigrationState | null }): WizardStep[] {
  const before = ORDER.slice(0, ORDER.indexOf(at.active));
  return before.filter((step) => step === "plan" || (step === "dryRun" ? at.hasDryRun : at.migrationId !== null));
}

/** What the confirmation before Run asks, in counts ("Send DeviceMove to 240 devices in 2 jobs?"). */
export function runQuestion(dry: DryRun, hubName: string): { title: string; lines: string[] } {
  // Devices the target hub already holds are left out of the run (unless the plan includes them).
  const devices = dry.readiness.rows.length - dry.readiness.leftOut;
  const jobs = dry.changes.filter((c) => c.kind === "createJob").length;
  const lines = [`Each device that answers leaves the Central application for the hub ${hubName}.`];
  if (dry.readiness.expectedToFail) lines.push(`${dry.readiness.expectedToFail} of them are expected to fail (see the dry run).`);
  if (dry.readiness.leftOut) lines.push(`${dry.readiness.leftOut} more are already in the hub ${hubName} and are left out.`);
  return { title: `Send DeviceMove to ${devices} device${devices === 1 ? "" : "s"} in ${jobs} job${jobs === 1 ? "" : "s"}?`, lines };
}
