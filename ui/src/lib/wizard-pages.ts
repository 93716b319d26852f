// What the shell's pages need to know of each wizard's own page, by wizard: how to put it on a
// step (the Jobs page's Resume opens the migration on its Run step). A wizard lands here with its page.
import type { WizardId, WizardStep } from "./bindings";
import { c2h } from "../routes/central-to-hub/wizard.svelte";
import { hubState } from "../routes/hub-state/wizard.svelte";
import { bulk } from "../routes/bulk-identities/wizard.svelte";

export const wizardSteps: Partial<Record<WizardId, (step: WizardStep) => void>> = {
  centralToHub: (step) => (c2h.step = step),
  hubState: (step) => (hubState.step = step === "verify" || step === "report" ? "run" : step),
  bulkIdentities: (step) => (bulk.step = step === "verify" || step === "report" ? "run" : step),
};
