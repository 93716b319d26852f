import { describe, expect, it } from "vitest";
import type { ItemRow } from "../../lib/bindings";
import { monitorView, type MonitorInput } from "./monitor-view";

const row = (key: string, state: string): ItemRow => ({ kind: "device", key, state, reason: null });
const base: MonitorInput = { state: "running", runningHere: true, failed: 0, jobs: {}, counts: {}, rows: [], steps: [], retrying: false, ended: null };

describe("the monitor's one view of its state", () => {
  it("offers no job control and no Stop watching once the migration completed", () => {
    const view = monitorView({ ...base, state: "completed", runningHere: false, jobs: { j1: "completed" }, failed: 40, ended: { ok: true, code: null } });
    expect(view.phase).toBe("completed");
    expect(view.actions).not.toContain("stopJobs");
    expect(view.actions).not.toContain("resumeJobs");
    expect(view.actions).not.toContain("stopWatching");
    expect(view.actions).not.toContain("resume");
    expect(view.actions).toEqual(["report", "retry", "planAnother"]);
  });

  it("offers Stop the job only while a job runs, and Resume the job only while one is stopped", () => {
    expect(monitorView({ ...base, jobs: { j1: "running" } }).actions).toEqual(["stopJobs", "stopWatching", "planAnother"]);
    const stopped = monitorView({ ...base, jobs: { j1: "stopped" } });
    expect(stopped.actions).toEqual(["resumeJobs", "stopWatching", "planAnother"]);
    // The page does not say "running" over a stopped job.
    expect(stopped.headline).toBe("The Central job is stopped; still watching the devices already reached");
  });

  it("a stop on request reads as stopped and resumable, not as a failure", () => {
    const view = monitorView({ ...base, state: "running", runningHere: false, ended: { ok: false, code: "migration.cancelled" } });
    expect(view.phase).toBe("stopped");
    expect(view.headline).toMatch(/^Stopped — Resume/);
    expect(view.actions).toEqual(["resume", "planAnother"]);
  });

  it("after a retry with every step ticked it says what it watches, and says finished when it ends", () => {
    const steps = [{ key: "rerun:thermostats:1", title: "Rerun", state: "done" as const, detail: null }];
    const rows = [row("a", "verified"), row("b", "pending")];
    expect(monitorView({ ...base, retrying: true, steps, rows, jobs: { "j1-r1": "completed" } }).headline).toBe("Retrying: watching the retried devices (1 verified, 0 failed)");
    const ended = monitorView({ ...base, state: "completed", runningHere: false, steps, rows: [row("a", "verified"), row("b", "verified")], ended: { ok: true, code: null } });
    expect(ended.headline).toBe("Finished: 2 verified, 0 failed");
  });

  it("counts the tiles from the rows the table shows, so a tile and its filter agree", () => {
    // The last tick said 3 pending; the table already holds the journal's rows, patched since.
    const view = monitorView({ ...base, counts: { pending: 3 }, rows: [row("a", "verified"), row("b", "failed"), row("c", "pending")] });
    expect(view.counts).toEqual({ pending: 1, answered: 0, registered: 0, verified: 1, failed: 1 });
    expect(view.total).toBe(3);
    // Before the rows are read, the tick's counts stand.
    expect(monitorView({ ...base, counts: { pending: 3 } }).counts.pending).toBe(3);
  });

  it("a failed migration offers Resume and a new plan, as the Jobs page does", () => {
    const view = monitorView({ ...base, state: "failed", runningHere: false, ended: { ok: false, code: "centralToHub.dps_forbidden" } });
    expect(view.phase).toBe("failed");
    expect(view.actions).toEqual(["resume", "planAnother"]);
  });
});
