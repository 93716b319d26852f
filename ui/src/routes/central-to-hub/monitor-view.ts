// What the monitor shows, decided in one place from one state: its headline, which controls it
// offers, the tiles' counts and the table's "shown" line. Every control, label, tile and line of
// MonitorStep reads this, so none can contradict another (a "Stop the job" after the job
// completed, "running" above a page of ticked steps, tiles that disagree with the table).
import type { ItemRow } from "../../lib/bindings";
import { actionsOf, phaseOf, type MigrationAction, type MigrationFacts, type MigrationPhase, type StepView } from "../../lib/migration.svelte";
import { DEVICE_STATES } from "./wizard.svelte";

export type MonitorInput = MigrationFacts & {
  /** Counts from the latest tick (or the run's end). */
  counts: Record<string, number>;
  /** Every device the page knows, by ID. */
  rows: ItemRow[];
  steps: StepView[];
  retrying: boolean;
  /** How the last run ended, when it did. */
  ended: { ok: boolean; code: string | null } | null;
};

export type MonitorView = {
  phase: MigrationPhase;
  headline: string;
  actions: MigrationAction[];
  /** Devices by state, for the tiles and the table's filter: one source for both. */
  counts: Record<string, number>;
  total: number;
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function monitorView(input: MonitorInput): MonitorView {
  const phase = phaseOf(input);
  const actions = actionsOf(input);
  // The table's rows are the journal's items patched by every tick: once they are there, the tiles
  // count them too, so a filter's "shown" always equals its tile.
  const counts: Record<string, number> = Object.fromEntries(DEVICE_STATES.map((s) => [s, 0]));
  if (input.rows.length) for (const row of input.rows) counts[row.state] = (counts[row.state] ?? 0) + 1;
  else for (const state of DEVICE_STATES) counts[state] = input.counts[state] ?? 0;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { phase, headline: headline(phase, input, counts), actions, counts, total };
}

function headline(phase: MigrationPhase, input: MonitorInput, counts: Record<string, number>): string {
  const jobs = Object.values(input.jobs ?? {});
  const done = `${counts.verified} verified, ${counts.failed} failed`;
  switch (phase) {
    case "new":
      return "Not started yet";
    case "running": {
      if (jobs.length && jobs.every((s) => s === "stopped")) return `The Central ${jobs.length === 1 ? "job is" : "jobs are"} stopped; still watching the devices already reached`;
      if (input.retrying) return `Retrying: watching the retried devices (${done})`;
      const sending = input.steps.some((s) => s.state === "started" && s.key.startsWith("job:")) || jobs.includes("running");
      if (sending) return `Sending DeviceMove (${plural(jobs.filter((s) => s === "running").length, "Central job")} running)`;
      if (input.steps.length && input.steps.every((s) => s.state !== "started")) return `Watching the devices arrive (${done})`;
      return "Running";
    }
    case "stopped":
      return input.ended?.code ? "Stopped — Resume goes on from where it stopped" : "Interrupted — Resume goes on from where it stopped";
    case "failed":
      return "Failed — see why below";
    case "completed":
      return `Finished: ${done}`;
    case "cancelled":
      return "Cancelled";
  }
}
