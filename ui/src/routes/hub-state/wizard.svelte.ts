// The Hub state wizard's own state (its step, the plan being written, the last dry run), kept
// across pages; the migration it shows comes from the window's live migrations.
import type { HubStateAction, HubStateDryRun, HubStatePlan, WizardStep } from "../../lib/bindings";
import { migrations, type LiveMigration } from "../../lib/migration.svelte";

export type HubStateStep = Exclude<WizardStep, "verify">;

export function emptyPlan(): HubStatePlan {
  return { action: "migrate", aspects: ["configurations", "devices"], source: null, target: null, file: null, variant: null, replace: false };
}

/** What each mode is, as the person chooses it. */
export const ACTIONS: { id: HubStateAction; title: string; detail: string }[] = [
  { id: "migrate", title: "Migrate hub → hub", detail: "Copy one hub's devices and configurations straight into another hub." },
  { id: "export", title: "Export to a file", detail: "Save a hub's devices and configurations in a state file (the az CLI's format)." },
  { id: "import", title: "Import from a file", detail: "Write a state file's devices and configurations into a hub." },
];

/** The kinds of item, in the order the page lists them, with their plural. */
export const KINDS: [string, string][] = [
  ["device", "Devices"],
  ["module", "Modules"],
  ["configuration", "Configurations"],
];

/** The plan as the shell takes it: only the fields its mode uses (a migrate names no file…). */
export function planFor(plan: HubStatePlan): HubStatePlan {
  const { action } = plan;
  return {
    action,
    aspects: plan.aspects,
    source: action === "import" ? null : plan.source,
    target: action === "export" ? null : plan.target,
    file: action === "migrate" ? null : plan.file,
    variant: action === "export" ? (plan.variant ?? "json") : null,
    replace: action === "export" ? false : plan.replace,
  };
}

/** The confirmation Replace asks for, naming what it would delete; null when it deletes nothing. */
export function replaceQuestion(dry: HubStateDryRun, hub: string): { title: string; lines: string[] } | null {
  const deletes = KINDS.map(([kind, label]) => [label.toLowerCase(), dry.counts[kind]?.delete ?? 0] as const).filter(([, n]) => n > 0);
  if (!deletes.length) return null;
  const words = deletes.map(([label, n]) => `${n} ${n === 1 ? label.replace(/s$/, "") : label}`);
  return {
    title: `Delete ${words.join(", ")} from ${hub}?`,
    lines: [`Replace deletes from ${hub} what the source does not hold. This cannot be undone.`],
  };
}

class HubStateWizard {
  step = $state<HubStateStep>("plan");
  plan = $state(emptyPlan());
  subscriptionId = $state("");
  dry = $state<HubStateDryRun | null>(null);
  /** The migration the wizard's pages show. */
  get live(): LiveMigration<"hubState"> {
    return migrations.shownFor("hubState");
  }
}

export const hubState = new HubStateWizard();
