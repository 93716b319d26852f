import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { BulkDeviceRow, BulkFileCheck, BulkReport, SessionView, Wizard } from "../../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { LiveMigration, migrations } = await import("../../lib/migration.svelte");
const { session } = await import("../../lib/session.svelte");
const { bulk, emptyDraft } = await import("./wizard.svelte");
const BulkIdentitiesPage = (await import("./BulkIdentitiesPage.svelte")).default;
const RunStep = (await import("./RunStep.svelte")).default;

const wizard: Wizard = { id: "bulkIdentities", title: "Bulk identities", summary: "Jobs.", whatItDoes: [], steps: ["plan", "dryRun", "run", "verify", "report"], available: true };
const targets = {
  hubs: [{ name: "contoso-hub-weu", resourceGroup: "rg-iot-prod", location: "westeurope", hostName: "h", sku: "S1×1" }],
  storageAccounts: [{ name: "contosomigration", resourceGroup: "rg-iot-prod", location: "westeurope" }],
  defaultContainer: "iotm-bulk-jobs",
};
const badFile: BulkFileCheck = {
  summary: null,
  moreProblems: 0,
  problems: [
    { line: 2, code: "bulk.line.json", field: null, message: "is not valid JSON: EOF while parsing" },
    { line: 4, code: "bulk.line.duplicateId", field: "id", message: "the device 'lab-1' is on line 1 already" },
  ],
  lines: [
    { line: 2, text: '{"id": "lab-2", ' },
    { line: 4, text: '{"id":"lab-1"}' },
  ],
};

function answer(extra: Record<string, unknown> = {}) {
  invoke.mockImplementation(async (command: string) => {
    if (command in extra) return extra[command];
    if (command === "list_subscriptions") return [{ id: "sub", name: "Contoso production", tenantId: "t" }];
    if (command === "bulk_targets") return targets;
    if (command === "migration_items") return { kind: "device", counts: {}, rows: [] };
    if (command === "migration_list") return [];
    return null;
  });
}

describe("the Bulk identities plan", () => {
  beforeEach(() => {
    invoke.mockReset();
    session.view = { accounts: [{ id: "a", name: "Ada", username: "ada@contoso.com", tenantId: "t", environment: "sandbox" }], current: "a", keyring: true } as unknown as SessionView;
    bulk.step = "plan";
    bulk.draft = emptyDraft();
    bulk.check = null;
    migrations.clear("bulkIdentities");
  });

  it("shows each bad line of an import's file with its number and text, and goes no further", async () => {
    answer({ bulk_check_file: badFile });
    render(BulkIdentitiesPage, { wizard });
    await fireEvent.click(screen.getByText("Import devices"));
    await waitFor(() => expect(screen.getByTestId("hub").querySelectorAll("option").length).toBe(2));
    await fireEvent.change(screen.getByTestId("hub"), { target: { value: "rg-iot-prod/contoso-hub-weu" } });
    await fireEvent.change(screen.getByTestId("storage-account"), { target: { value: "rg-iot-prod/contosomigration" } });
    await fireEvent.input(screen.getByTestId("import-file"), { target: { value: "/home/ada/lab.txt" } });
    await fireEvent.change(screen.getByTestId("import-mode"), { target: { value: "create" } });
    await fireEvent.click(screen.getByTestId("dry-run-button"));
    const problems = await screen.findByTestId("file-problems");
    const lines = [...problems.querySelectorAll("li[data-line]")].map((li) => [li.getAttribute("data-line"), li.querySelector("code")!.textContent]);
    expect(lines).toEqual([
      ["2", '{"id": "lab-2", '],
      ["4", '{"id":"lab-1"}'],
    ]);
    expect(problems.textContent).toContain("Duplicate ID");
    expect(problems.textContent).toContain("Nothing has been uploaded");
    expect(invoke).toHaveBeenCalledWith("bulk_check_file", { file: "/home/ada/lab.txt", defaultMode: "create" });
    expect(invoke.mock.calls.map((c) => c[0])).not.toContain("bulk_dry_run");
    expect(bulk.step).toBe("plan");
  });

  it("goes on to the dry run once the file passes, with the plan the shell takes", async () => {
    const dry = { operation: "import", hub: "contoso-hub-weu", devicesInHub: 4, container: "iotm-bulk-jobs", file: { lines: 2, byMode: [["create", 2]] }, matching: null, sample: [], changes: ["The file is uploaded"] };
    answer({ bulk_check_file: { summary: { lines: 2, byMode: [["create", 2]] }, problems: [], moreProblems: 0, lines: [] }, bulk_dry_run: dry });
    bulk.subscriptionId = "sub";
    bulk.draft = { ...emptyDraft(), kind: "import", hub: { subscriptionId: "sub", resourceGroup: "rg-iot-prod", hubName: "contoso-hub-weu" }, storage: { resourceGroup: "rg-iot-prod", account: "contosomigration" }, file: "/home/ada/ok.txt" };
    render(BulkIdentitiesPage, { wizard });
    // The container the shell proposes fills the plan in; until then there is nothing to dry-run.
    await waitFor(() => expect((screen.getByTestId("container") as HTMLInputElement).value).toBe("iotm-bulk-jobs"));
    await fireEvent.click(screen.getByTestId("dry-run-button"));
    await screen.findByTestId("dry-run");
    const sent = invoke.mock.calls.find((c) => c[0] === "bulk_dry_run")![1] as { plan: unknown };
    expect(sent.plan).toEqual({
      hub: { subscriptionId: "sub", resourceGroup: "rg-iot-prod", hubName: "contoso-hub-weu" },
      storage: { subscriptionId: "sub", resourceGroup: "rg-iot-prod", account: "contosomigration", container: "iotm-bulk-jobs" },
      operation: { kind: "import", file: "/home/ada/ok.txt", defaultMode: "createOrUpdate" },
    });
    expect(screen.getByTestId("run").textContent).toContain("Import 2 lines");
  });
});

describe("the Bulk identities report", () => {
  beforeEach(() => invoke.mockReset());

  const report = (over: Partial<BulkReport>): BulkReport => ({ id: "m1", title: "Bulk import — hub", state: "completed", counts: {}, jobs: [], errors: [], stoppedBy: null, ...over });

  function finished(id: string) {
    const live = new LiveMigration("bulkIdentities", id);
    live.onProgress({ kind: "finished", ok: true, code: null, message: null, requestId: null, counts: {} });
    return live;
  }

  it("puts each line of importErrors.log beside the input line it refers to, its code in words", async () => {
    const errors = [
      { line: 2, deviceId: "lab-2", errorCode: 409001, meaning: "a device with this ID is registered already", status: "A device with ID 'lab-2' is already registered." },
      { line: 3, deviceId: "lab-9", errorCode: 404001, meaning: "no device with this ID is registered", status: "Device lab-9 not found." },
    ];
    answer({
      migration_report: { wizard: "bulkIdentities", report: report({ counts: { imported: 1, failed: 2 }, jobs: [["importJob", "j1"]], errors }) },
      bulk_input_lines: [
        { line: 2, text: '{"id":"lab-2","importMode":"create"}' },
        { line: 3, text: '{"id":"lab-9","importMode":"update"}' },
      ],
    });
    render(RunStep, { live: finished("m1"), onResume: () => {} });
    const table = await screen.findByTestId("import-errors-table");
    await waitFor(() => expect(table.textContent).toContain('{"id":"lab-2","importMode":"create"}'));
    const rows = [...table.querySelectorAll(".row")].map((r) => r.textContent!.replace(/\s+/g, " ").trim());
    expect(rows[0]).toMatch(/^2 \{"id":"lab-2","importMode":"create"\} a device with this ID is registered already ?409001/);
    expect(rows[1]).toMatch(/^3 \{"id":"lab-9","importMode":"update"\} no device with this ID is registered ?404001/);
    expect(invoke).toHaveBeenCalledWith("bulk_input_lines", { id: "m1", lines: [2, 3] });
    expect(screen.getByTestId("live-counts").textContent!.replace(/\s+/g, " ").trim()).toBe("1 imported · 2 refused by the hub");
  });

  it("shows 10,000 exported devices in a table that draws only the rows in view", async () => {
    const rows: BulkDeviceRow[] = Array.from({ length: 10_000 }, (_, i) => ({
      id: `lab-${String(i).padStart(5, "0")}`,
      status: i % 10 ? "enabled" : "disabled",
      authType: "sas",
      edge: i === 0,
      tags: i === 1 ? '{"site":"weu"}' : "{}",
      desired: "{}",
    }));
    answer({
      migration_report: { wizard: "bulkIdentities", report: report({ counts: { exported: 10_000 }, jobs: [["exportJob", "j2"]] }) },
      bulk_exported_devices: { file: "/home/ada/hub-devices.txt", rows, more: 0 },
    });
    render(RunStep, { live: finished("m2"), onResume: () => {} });
    const table = await screen.findByTestId("devices-table");
    expect(table.getAttribute("data-rows")).toBe("10000");
    expect(table.querySelectorAll(".row").length).toBeLessThan(40);
    expect(table.textContent).toContain("lab-00000");
    await fireEvent.input(screen.getByLabelText("Filter devices"), { target: { value: "weu" } });
    expect(screen.getByTestId("devices-table").getAttribute("data-rows")).toBe("1");
    expect(screen.getByTestId("shown-count").textContent).toBe("1 shown");
  });

  it("opens a finished import from the Jobs page on its report, the errors beside their lines", async () => {
    const summary = { id: "m-jobs", wizard: "bulkIdentities", title: "Bulk import — contoso-hub-weu", state: "completed", createdAt: "", updatedAt: "", stepsDone: 7, stepsFailed: 0 };
    const errors = [{ line: 1, deviceId: "lab-1", errorCode: 412001, meaning: "the ETag does not match: the device or twin changed since the file was made", status: "precondition failed" }];
    answer({
      migration_list: [{ summary, runningHere: false, counts: { failed: 1 } }],
      migration_report: { wizard: "bulkIdentities", report: report({ id: "m-jobs", counts: { failed: 1 }, jobs: [["importJob", "j3"]], errors }) },
      bulk_input_lines: [{ line: 1, text: '{"id":"lab-1","importMode":"updateIfMatchETag","eTag":"old"}' }],
    });
    bulk.step = "plan";
    render(BulkIdentitiesPage, { wizard, migrationId: "m-jobs" });
    const table = await screen.findByTestId("import-errors-table");
    await waitFor(() => expect(table.textContent).toContain('"eTag":"old"'));
    expect(table.textContent).toContain("the ETag does not match");
    expect(bulk.step).toBe("run");
  });
});
