// The live state of migrations, by migration ID and wizard: their steps, item counts over time
// (for the chart), their items (patched from each tick's changes, never resent whole), the wizard's
// latest tick news and how the run ended. One store for the window, so leaving a page and coming
// back — or resuming from the Jobs page — keeps the live view of every migration.
import { api, toErrorPayload, type ErrorPayload, type ProgressOf } from "./api";
import type { ItemRow, MigrationPlan, MigrationState, StepState, TickOf, WizardId } from "./bindings";

export type StepView = { key: string; title: string; state: StepState; detail: string | null };
export type Finished = Extract<ProgressOf<WizardId>, { kind: "finished" }>;
export type Sample = { t: number; counts: Record<string, number> };
type News<W extends WizardId> = W extends keyof TickOf ? TickOf[W] : Record<string, never>;

/** What can be done to a migration, wherever it is shown (the Jobs page, the wizard's pages). */
export type MigrationAction = "resume" | "stopWatching" | "stopJobs" | "resumeJobs" | "retry" | "report" | "planAnother";

/** Where a migration is, as a person would say it. `stopped`: stopped or cut off mid-way, resumable. */
export type MigrationPhase = "new" | "running" | "stopped" | "failed" | "completed" | "cancelled";

/** What decides a migration's actions: its journal's state, whether this window runs it now, how
 *  many of its items failed, and its jobs' statuses (Central → Hub's Central jobs). */
export type MigrationFacts = { state: MigrationState | null; runningHere: boolean; failed: number; jobs?: Record<string, string> };

/** The phase of a migration: running here, else what its journal says ("running" in the journal
 *  while nothing runs it here means it was stopped or cut off: Resume continues it). */
export function phaseOf(facts: MigrationFacts): MigrationPhase {
  if (facts.runningHere) return "running";
  switch (facts.state) {
    case null:
      return "new";
    case "planned":
    case "running":
      return "stopped";
    default:
      return facts.state;
  }
}

/** The one place that decides what a migration offers; the Jobs page and the wizard both ask it. */
export function actionsOf(facts: MigrationFacts): MigrationAction[] {
  const jobs = Object.values(facts.jobs ?? {});
  switch (phaseOf(facts)) {
    case "new":
      return [];
    case "running":
      return [
        ...(jobs.includes("running") ? (["stopJobs"] as const) : []),
        ...(jobs.includes("stopped") ? (["resumeJobs"] as const) : []),
        "stopWatching",
        "planAnother",
      ];
    // A failed run stopped at a step that refused it (access, a clash): once that is fixed, Resume
    // goes on from that step; nothing done before it is done again.
    case "stopped":
    case "failed":
      return ["resume", "planAnother"];
    case "completed":
      return ["report", ...(facts.failed > 0 ? (["retry"] as const) : []), "planAnother"];
    case "cancelled":
      return ["planAnother"];
  }
}

export class LiveMigration<W extends WizardId = WizardId> {
  readonly wizard: W;
  id = $state<string | null>(null);
  steps = $state<StepView[]>([]);
  counts = $state<Record<string, number>>({});
  /** The wizard's own news from the latest tick (Central → Hub: its jobs). */
  news = $state<News<W> | null>(null);
  history = $state<Sample[]>([]);
  finished = $state<Finished | null>(null);
  running = $state(false);
  /** The journal's state when the migration was opened (from the Jobs page, or found running). */
  journalState = $state<MigrationState | null>(null);
  /** True while a retry (not a first run or a resume) runs. */
  retrying = $state(false);
  error = $state<ErrorPayload | null>(null);
  /** Bumped when `rows` changed; the table reads `rows` again then. */
  version = $state(0);
  rows = new Map<string, ItemRow>();

  constructor(wizard: W, id: string | null = null) {
    this.wizard = wizard;
    this.id = id;
  }

  reset(id: string | null): void {
    this.id = id;
    this.steps = [];
    this.counts = {};
    this.news = null;
    this.history = [];
    this.finished = null;
    this.journalState = null;
    this.retrying = false;
    this.error = null;
    this.rows = new Map();
    this.version++;
  }

  /** The journal's state of this migration now: what ended it, else what it was opened in. */
  get state(): MigrationState | null {
    if (this.running) return "running";
    if (this.finished) return this.finished.ok ? "completed" : this.finished.code === CANCELLED ? "running" : "failed";
    if (this.error) return "failed";
    return this.journalState ?? (this.id ? "running" : null);
  }

  /** What this migration offers now (the same function the Jobs page asks). */
  get actions(): MigrationAction[] {
    void this.version;
    const failed = this.rows.size ? [...this.rows.values()].filter((r) => r.state === "failed").length : (this.counts.failed ?? 0);
    const jobs = (this.news as { jobs?: Record<string, string> } | null)?.jobs;
    return actionsOf({ state: this.state, runningHere: this.running, failed, jobs });
  }

  onProgress = (progress: ProgressOf<W>): void => {
    if (progress.kind === "step") {
      const view = { key: progress.key, title: progress.title, state: progress.state, detail: progress.detail };
      const at = this.steps.findIndex((s) => s.key === progress.key);
      this.steps = at < 0 ? [...this.steps, view] : this.steps.map((s, i) => (i === at ? view : s));
      // A finished step may have chosen the items (Central → Hub's select-devices): from then on
      // the table lists every one the journal holds, not only those whose state has changed. Once
      // the table holds them, ticks keep it current: no step reads the whole journal again.
      if ((progress.state === "done" || progress.state === "alreadyDone") && this.rows.size === 0) void this.loadItems(false);
    } else if (progress.kind === "tick") {
      const { kind: _kind, elapsedMs, counts, ...news } = progress as Extract<ProgressOf<W>, { kind: "tick" }> & Record<string, unknown>;
      this.counts = counts;
      this.news = news as unknown as News<W>;
      this.history = [...this.history, { t: elapsedMs / 1000, counts }].slice(-600);
      // Every wizard's ticks may carry `changed`: the items whose state moved since the last one.
      const changed = (news as { changed?: ItemRow[] }).changed ?? [];
      for (const row of changed) this.rows.set(row.key, row);
      if (changed.length) this.version++;
    } else {
      this.finished = progress;
      this.counts = progress.counts;
      this.running = false;
      this.retrying = false;
      void this.loadItems();
    }
  };

  /** Follows a new run of this migration: its steps, news and chart start over (a retry's lines
   *  are not drawn over the first run's; its steps are the retry's own). */
  private async follow(call: (id: string, on: (p: ProgressOf<W>) => void) => Promise<void>, retrying: boolean): Promise<void> {
    if (!this.id) return;
    this.finished = null;
    this.error = null;
    this.steps = [];
    this.news = null;
    this.history = [];
    this.retrying = retrying;
    this.running = true;
    try {
      await call(this.id, this.onProgress);
    } catch (e) {
      this.running = false;
      this.retrying = false;
      this.error = toErrorPayload(e);
    }
  }

  resume = () => this.follow(api.migrationResume<W>, false);
  /** Retries the failed items; those expected to fail again (no DeviceMove) only when asked. */
  retry = (includeUnlikely = false) => this.follow((id, on) => api.migrationRetry<W>(id, includeUnlikely, on), true);

  async stop(): Promise<void> {
    if (this.id) await api.migrationStop(this.id);
  }

  /** The journal's items. Without `overwrite`, rows already patched by a tick are kept: a tick
   *  is never older than the journal read that raced it, since the engine journals before it tells. */
  async loadItems(overwrite = true): Promise<void> {
    if (!this.id) return;
    try {
      const page = await api.migrationItems(this.id, null, null, 0, 50_000);
      if (overwrite) {
        this.counts = page.counts;
        this.rows = new Map(page.rows.map((r) => [r.key, r]));
      } else {
        for (const row of page.rows) if (!this.rows.has(row.key)) this.rows.set(row.key, row);
      }
      this.version++;
    } catch (e) {
      this.error = toErrorPayload(e);
    }
  }
}

/** The code of a run stopped on request (Stop watching, a sign-out): resumable, not a failure. */
export const CANCELLED = "migration.cancelled";

/** Every live migration of this window, by ID; and the one each wizard's page shows. */
class LiveMigrations {
  private byId = new Map<string, LiveMigration>();
  private shown = $state<Partial<Record<WizardId, LiveMigration>>>({});

  /** The migration `id` of `wizard` (made the first time it is asked for, with its journal's items). */
  get<W extends WizardId>(id: string, wizard: W): LiveMigration<W> {
    let live = this.byId.get(id);
    if (!live) {
      // Kept as any wizard's migration (its ticks are one of TickOf's); handed out as `W`'s.
      live = new LiveMigration<WizardId>(wizard, id);
      this.byId.set(id, live);
      void live.loadItems();
    }
    return live as unknown as LiveMigration<W>;
  }

  /** Each wizard's unstarted migration, until one is shown: kept outside `shown` so that asking
   *  for it (from a page's `$derived`) changes no state, which Svelte forbids there. */
  private blank = new Map<WizardId, LiveMigration>();

  /** What the wizard's page shows: the migration it last opened, or a new one not started yet. */
  shownFor<W extends WizardId>(wizard: W): LiveMigration<W> {
    let live = this.shown[wizard] ?? this.blank.get(wizard);
    if (!live) {
      live = new LiveMigration<WizardId>(wizard);
      this.blank.set(wizard, live);
    }
    return live as unknown as LiveMigration<W>;
  }

  /** Shows the migration `id` on its wizard's page. */
  show<W extends WizardId>(id: string, wizard: W): LiveMigration<W> {
    const live = this.get(id, wizard);
    this.shown = { ...this.shown, [wizard]: live };
    return live;
  }

  /** A fresh, unstarted migration on the wizard's page (after "Plan another migration"). */
  clear(wizard: WizardId): void {
    this.shown = { ...this.shown, [wizard]: new LiveMigration(wizard) };
  }

  /** Records and starts a migration of `plan`; it is shown on its wizard's page at once. */
  async start<W extends MigrationPlan["wizard"]>(plan: Extract<MigrationPlan, { wizard: W }>): Promise<LiveMigration<W>> {
    const live = new LiveMigration(plan.wizard as W);
    this.shown = { ...this.shown, [plan.wizard]: live };
    live.running = true;
    try {
      const id = await api.migrationStart(plan, live.onProgress as (p: ProgressOf<W>) => void);
      live.id = id;
      this.byId.set(id, live as unknown as LiveMigration);
    } catch (e) {
      live.running = false;
      live.error = toErrorPayload(e);
    }
    return live;
  }
}

export const migrations = new LiveMigrations();
