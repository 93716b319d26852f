// The migration the Central → Hub pages show: its steps, device counts over time (for the chart),
// its devices (patched from each tick's changes, never resent whole) and how its run ended. One
// instance for the window, so leaving the page and coming back keeps the live view.
import { api, toErrorPayload, type ErrorPayload } from "./api";
import type { DeviceRow, Progress, StepState } from "./bindings";

export type StepView = { key: string; title: string; state: StepState; detail: string | null };
export type Finished = Extract<Progress, { kind: "finished" }>;
export type Sample = { t: number; counts: Record<string, number> };

export const DEVICE_STATES = ["pending", "answered", "registered", "verified", "failed"] as const;

class LiveMigration {
  id = $state<string | null>(null);
  steps = $state<StepView[]>([]);
  counts = $state<Record<string, number>>({});
  jobs = $state<Record<string, string>>({});
  history = $state<Sample[]>([]);
  finished = $state<Finished | null>(null);
  running = $state(false);
  error = $state<ErrorPayload | null>(null);
  /** Bumped when `rows` changed; the table reads `rows` again then. */
  version = $state(0);
  rows = new Map<string, DeviceRow>();

  reset(id: string | null): void {
    this.id = id;
    this.steps = [];
    this.counts = {};
    this.jobs = {};
    this.history = [];
    this.finished = null;
    this.error = null;
    this.rows = new Map();
    this.version++;
  }

  onProgress = (progress: Progress): void => {
    if (progress.kind === "step") {
      const view = { key: progress.key, title: progress.title, state: progress.state, detail: progress.detail };
      const at = this.steps.findIndex((s) => s.key === progress.key);
      this.steps = at < 0 ? [...this.steps, view] : this.steps.map((s, i) => (i === at ? view : s));
      // Once the devices are chosen the journal lists them all: the table shows every one from
      // then on, not only those whose state has changed.
      if (progress.key === "select-devices" && (progress.state === "done" || progress.state === "alreadyDone")) void this.loadDevices(false);
    } else if (progress.kind === "tick") {
      this.counts = progress.counts;
      this.jobs = progress.jobs;
      this.history = [...this.history, { t: progress.elapsedMs / 1000, counts: progress.counts }].slice(-600);
      for (const row of progress.changed) this.rows.set(row.deviceId, row);
      if (progress.changed.length) this.version++;
    } else {
      this.finished = progress;
      this.counts = progress.counts;
      this.running = false;
      void this.loadDevices();
    }
  };

  async start(plan: Parameters<typeof api.c2hStart>[0]): Promise<string | null> {
    this.reset(null);
    this.running = true;
    try {
      const id = await api.c2hStart(plan, this.onProgress);
      this.id = id;
      return id;
    } catch (e) {
      this.running = false;
      this.error = toErrorPayload(e);
      return null;
    }
  }

  private async follow(call: (id: string, on: (p: Progress) => void) => Promise<void>): Promise<void> {
    if (!this.id) return;
    this.finished = null;
    this.error = null;
    this.running = true;
    try {
      await call(this.id, this.onProgress);
    } catch (e) {
      this.running = false;
      this.error = toErrorPayload(e);
    }
  }

  resume = () => this.follow(api.c2hResume);
  retry = () => this.follow(api.c2hRetry);

  async stop(): Promise<void> {
    if (this.id) await api.c2hStop(this.id);
  }

  /** Opens a migration from the journal (the Jobs page), with its devices as they were left. */
  async open(id: string): Promise<void> {
    if (this.id === id) return;
    this.reset(id);
    await this.loadDevices();
  }

  /** The journal's devices. Without `overwrite`, rows already patched by a tick are kept: a tick
   *  is never older than the journal read that raced it, since the engine journals before it tells. */
  async loadDevices(overwrite = true): Promise<void> {
    if (!this.id) return;
    try {
      const page = await api.c2hDevices(this.id, null, 0, 50_000);
      if (overwrite) {
        this.counts = page.counts;
        this.rows = new Map(page.rows.map((r) => [r.deviceId, r]));
      } else {
        for (const row of page.rows) if (!this.rows.has(row.deviceId)) this.rows.set(row.deviceId, row);
      }
      this.version++;
    } catch (e) {
      this.error = toErrorPayload(e);
    }
  }
}

export const migration = new LiveMigration();

export type C2hStep = "plan" | "dryRun" | "run" | "verify" | "report";

export function emptyPlan(): import("./bindings").Plan {
  return {
    source: { subdomain: "", access: { kind: "signedIn" }, templateId: "", deviceGroups: [] },
    target: { subscriptionId: "", resourceGroup: "", dpsName: "", hubName: "", hubResourceGroup: null, linkHubIfNeeded: true },
    enrollment: { centralGroupId: "sas-iot-devices", dpsGroupId: "central-migration", x509CertificatePem: null },
    job: { payload: "fromTemplate", batchSize: null, cancellationThresholdPercent: null },
    verify: { settleSeconds: 120 },
  };
}

/** The wizard's own state (its step, the plan being written, the last dry run), kept across pages. */
class CentralToHubWizard {
  step = $state<C2hStep>("plan");
  plan = $state(emptyPlan());
  dry = $state<import("./bindings").DryRun | null>(null);
}

export const c2h = new CentralToHubWizard();
