import { describe, expect, it } from "vitest";
import type { BulkDeviceRow, BulkDryRun, BulkFileCheck, ImportError } from "../../lib/bindings";
import { deleteQuestion, deviceView, emptyDraft, errorRows, jobRunning, linesOf, MODES, planFor, problemRows, progressOf } from "./wizard.svelte";

const hub = { subscriptionId: "s", resourceGroup: "rg", hubName: "contoso-hub" };
const storage = { resourceGroup: "rg-st", account: "contosomigration" };

describe("the Bulk identities plan", () => {
  it("is sent only once it names the hub, the storage and the file, with only its operation's fields", () => {
    const draft = { ...emptyDraft("iotm-bulk-jobs"), hub, storage, saveTo: " /tmp/out.txt ", file: "/tmp/in.txt" };
    expect(planFor({ ...draft, storage: null }, "s")).toBeNull();
    expect(planFor({ ...draft, container: "" }, "s")).toBeNull();
    expect(planFor({ ...draft, saveTo: "" }, "s")).toBeNull();
    expect(planFor({ ...draft, excludeKeys: true }, "s")).toEqual({
      hub,
      storage: { subscriptionId: "s", resourceGroup: "rg-st", account: "contosomigration", container: "iotm-bulk-jobs" },
      operation: { kind: "export", excludeKeys: true, saveTo: "/tmp/out.txt" },
    });
    expect(planFor({ ...draft, kind: "import", defaultMode: "updateTwin" }, "s")?.operation).toEqual({ kind: "import", file: "/tmp/in.txt", defaultMode: "updateTwin" });
    expect(planFor({ ...draft, kind: "import", file: "  " }, "s")).toBeNull();
  });

  it("offers all nine import modes, each once", () => {
    expect(new Set(MODES.map((m) => m.id)).size).toBe(9);
    expect(MODES.map((m) => m.id)).toContain("updateTwinIfMatchETag");
  });
});

describe("a file's problems and an import's errors, each beside its line", () => {
  it("groups a check's problems by line, in the file's order, with the line's text", () => {
    const check: BulkFileCheck = {
      summary: null,
      moreProblems: 0,
      problems: [
        { line: 7, code: "bulk.line.duplicateId", field: "id", message: "the device 'a' is on line 2 already" },
        { line: 3, code: "bulk.line.json", field: null, message: "is not valid JSON" },
        { line: 7, code: "bulk.line.badKey", field: "authentication.symmetricKey.primaryKey", message: "primaryKey is 5 bytes long" },
      ],
      lines: [
        { line: 3, text: '{"id": ' },
        { line: 7, text: '{"id":"a","authentication":{"symmetricKey":{"primaryKey":"[REDACTED]"}}}' },
      ],
    };
    const rows = problemRows(check);
    expect(rows.map((r) => [r.line, r.problems.map((p) => p.code)])).toEqual([
      [3, ["bulk.line.json"]],
      [7, ["bulk.line.duplicateId", "bulk.line.badKey"]],
    ]);
    expect(rows[0].text).toBe('{"id": ');
  });

  it("puts each error beside its input line, and says when the line was not found", () => {
    const errors: ImportError[] = [
      { line: 2, deviceId: "dup", errorCode: 409001, meaning: "a device with this ID is registered already", status: "exists" },
      { line: 5, deviceId: "gone", errorCode: 404001, meaning: "no device with this ID is registered", status: "not found" },
      { line: 2, deviceId: "dup", errorCode: 412001, meaning: "the ETag does not match", status: "etag" },
      { line: null, deviceId: "ghost", errorCode: 404001, meaning: "no device with this ID is registered", status: "not found" },
    ];
    expect(linesOf(errors)).toEqual([2, 5]);
    const rows = errorRows(errors, [
      { line: 2, text: '{"id":"dup","importMode":"create"}' },
      { line: 5, text: '{"id":"gone","importMode":"update"}' },
    ]);
    expect(rows.map((r) => [r.line, r.text, r.error.errorCode])).toEqual([
      [2, '{"id":"dup","importMode":"create"}', 409001],
      [5, '{"id":"gone","importMode":"update"}', 404001],
      [2, '{"id":"dup","importMode":"create"}', 412001],
      [null, null, 404001],
    ]);
  });
});

describe("the run's progress", () => {
  it("reads the upload's bytes, then the hub's job percentage", () => {
    expect(progressOf(null)).toEqual({ label: "Starting…", percent: null });
    expect(progressOf({ phase: "upload", jobId: null, bytes: 512, totalBytes: 2048 })).toEqual({ label: "Uploading devices.txt: 512 B of 2.0 KB", percent: 25 });
    const job = { phase: "import", jobId: "job-1", jobStatus: "running", jobProgress: 40, bytes: 0, totalBytes: 0 };
    expect(progressOf(job).percent).toBe(40);
    expect(progressOf(job).label).toContain("job-1");
    expect(progressOf({ ...job, jobStatus: "completed", jobProgress: 99 }).percent).toBe(100);
    expect(jobRunning(job)).toBe(true);
    expect(jobRunning({ ...job, jobStatus: "failed" })).toBe(false);
    expect(jobRunning({ phase: "upload", jobId: null })).toBe(false);
  });
});

describe("an import that deletes", () => {
  const dry = (byMode: BulkDryRun["file"]): BulkDryRun => ({ operation: "import", hub: "contoso-hub", devicesInHub: 10, container: "c", file: byMode, matching: null, sample: [], changes: [] });

  it("asks first, counting the devices it would delete", () => {
    const q = deleteQuestion(dry({ lines: 6, byMode: [["create", 3], ["delete", 2], ["deleteIfMatchETag", 1]] }));
    expect(q?.title).toBe("Delete 3 devices from contoso-hub?");
    expect(deleteQuestion(dry({ lines: 3, byMode: [["createOrUpdate", 3]] }))).toBeNull();
  });
});

describe("the exported devices", () => {
  const row = (id: string, over: Partial<BulkDeviceRow> = {}): BulkDeviceRow => ({ id, status: "enabled", authType: "sas", edge: false, tags: "{}", desired: "{}", ...over });
  const rows = [row("b-therm", { tags: '{"site":"weu"}' }), row("a-gw", { edge: true, status: "disabled" }), row("c-cam", { authType: "selfSigned", desired: '{"fps":30}' })];
  const all = { text: "", status: "all" as const, edge: "all" as const };

  it("are filtered by text in ID, tags or desired properties, by status and by edge", () => {
    expect(deviceView(rows, { ...all, text: "WEU" }, "id").map((r) => r.id)).toEqual(["b-therm"]);
    expect(deviceView(rows, { ...all, text: "fps" }, "id").map((r) => r.id)).toEqual(["c-cam"]);
    expect(deviceView(rows, { ...all, status: "disabled" }, "id").map((r) => r.id)).toEqual(["a-gw"]);
    expect(deviceView(rows, { ...all, edge: "leaf" }, "id").map((r) => r.id)).toEqual(["b-therm", "c-cam"]);
  });

  it("are sorted by any column, either way, without touching the rows given", () => {
    expect(deviceView(rows, all, "authType").map((r) => r.id)).toEqual(["a-gw", "b-therm", "c-cam"]);
    expect(deviceView(rows, all, "edge", true).map((r) => r.id)[0]).toBe("a-gw");
    expect(deviceView(rows, all, "id", true).map((r) => r.id)).toEqual(["c-cam", "b-therm", "a-gw"]);
    expect(rows.map((r) => r.id)).toEqual(["b-therm", "a-gw", "c-cam"]);
  });
});
