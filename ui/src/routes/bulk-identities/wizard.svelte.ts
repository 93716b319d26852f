// The Bulk identities wizard's own state (its step, the plan being written, the file's check, the
// last dry run), kept across pages, and the page's logic as plain functions: the plan the shell
// takes, the nine import modes in words, a check's problems and an import's errors each beside
// its input line, the job's progress, and the exported devices filtered and sorted. The migration
// it shows comes from the window's live migrations.
import type {
  BulkDeviceRow,
  BulkDryRun,
  BulkFileCheck,
  BulkHubTarget,
  BulkInputLine,
  BulkPlan,
  BulkTick,
  ImportError,
  ImportMode,
  LineProblem,
  WizardStep,
} from "../../lib/bindings";
import { migrations, type LiveMigration } from "../../lib/migration.svelte";

export type BulkStep = Exclude<WizardStep, "verify" | "report">;
export type BulkKind = "export" | "import";

/** What the person is writing on the plan page; `planFor` turns it into the shell's plan. */
export type BulkDraft = {
  kind: BulkKind;
  hub: BulkHubTarget | null;
  /** The storage account, by resource group and name, in the hub's subscription. */
  storage: { resourceGroup: string; account: string } | null;
  container: string;
  excludeKeys: boolean;
  saveTo: string;
  file: string;
  defaultMode: ImportMode;
};

/** A new plan; its container is the one the shell proposes, filled in once the page has it. */
export function emptyDraft(container = ""): BulkDraft {
  return { kind: "export", hub: null, storage: null, container, excludeKeys: false, saveTo: "", file: "", defaultMode: "createOrUpdate" };
}

/** The nine import modes, as the service spells them, each in an admin's words. */
export const MODES: { id: ImportMode; title: string; detail: string }[] = [
  { id: "create", title: "Create", detail: "New devices only; a device the hub holds already is an error." },
  { id: "update", title: "Update", detail: "Replace existing devices' identities; a missing device is an error." },
  { id: "updateIfMatchETag", title: "Update if the ETag matches", detail: "Update, only where the line's eTag is the device's." },
  { id: "createOrUpdate", title: "Create or update", detail: "Create what is missing, replace what exists." },
  { id: "createOrUpdateIfMatchETag", title: "Create or update if the ETag matches", detail: "Create or update, updates only where the eTag matches." },
  { id: "delete", title: "Delete", detail: "Delete the devices the lines name." },
  { id: "deleteIfMatchETag", title: "Delete if the ETag matches", detail: "Delete, only where the line's eTag is the device's." },
  { id: "updateTwin", title: "Update the twin", detail: "Tags and desired properties only; identities are left alone." },
  { id: "updateTwinIfMatchETag", title: "Update the twin if its ETag matches", detail: "Twin update, only where the line's twinETag is the twin's." },
];

export const modeTitle = (mode: ImportMode) => MODES.find((m) => m.id === mode)?.title ?? mode;

/** The plan as the shell takes it, or null while something it needs is missing. */
export function planFor(draft: BulkDraft, subscriptionId: string): BulkPlan | null {
  if (!draft.hub || !draft.storage || !draft.container.trim()) return null;
  const hub = { ...draft.hub };
  const storage = { subscriptionId, resourceGroup: draft.storage.resourceGroup, account: draft.storage.account, container: draft.container.trim() };
  if (draft.kind === "export") {
    if (!draft.saveTo.trim()) return null;
    return { hub, storage, operation: { kind: "export", excludeKeys: draft.excludeKeys, saveTo: draft.saveTo.trim() } };
  }
  if (!draft.file.trim()) return null;
  return { hub, storage, operation: { kind: "import", file: draft.file.trim(), defaultMode: draft.defaultMode } };
}

/** A line-check code in words (the message says the detail). */
export const PROBLEM_WORDS: Record<string, string> = {
  "bulk.line.json": "Not JSON",
  "bulk.line.missingField": "Missing field",
  "bulk.line.badId": "Bad device ID",
  "bulk.line.unknownMode": "Unknown import mode",
  "bulk.line.badKey": "Bad key",
  "bulk.line.badThumbprint": "Bad thumbprint",
  "bulk.line.badStatus": "Bad status",
  "bulk.line.duplicateId": "Duplicate ID",
  "bulk.line.twinTooLarge": "Twin too large",
};

/** One line of the file with what is wrong with it. */
export type ProblemRow = { line: number; text: string | null; problems: LineProblem[] };

/** A check's problems grouped by line, in the file's order, each beside its line's text. */
export function problemRows(check: BulkFileCheck): ProblemRow[] {
  const text = new Map(check.lines.map((l) => [l.line, l.text]));
  const rows = new Map<number, ProblemRow>();
  for (const p of check.problems) {
    const row = rows.get(p.line) ?? { line: p.line, text: text.get(p.line) ?? null, problems: [] };
    row.problems.push(p);
    rows.set(p.line, row);
  }
  return [...rows.values()].sort((a, b) => a.line - b.line);
}

/** One error of importErrors.log beside the input line it refers to (none when it was not found). */
export type ErrorRow = { line: number | null; text: string | null; error: ImportError };

export function errorRows(errors: ImportError[], lines: BulkInputLine[]): ErrorRow[] {
  const text = new Map(lines.map((l) => [l.line, l.text]));
  return errors.map((error) => ({ line: error.line, text: error.line === null ? null : (text.get(error.line) ?? null), error }));
}

/** The lines to fetch beside the errors (each once; the first `most`). */
export function linesOf(errors: ImportError[], most = 10_000): number[] {
  return [...new Set(errors.map((e) => e.line).filter((l): l is number => l !== null))].slice(0, most);
}

const PHASES: Record<string, string> = {
  upload: "Uploading devices.txt",
  export: "The hub's export job",
  import: "The hub's import job",
  download: "Downloading devices.txt",
};

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Where the run is, for the progress bar: what it does, how far (0–100; null before it knows). */
export function progressOf(news: Partial<BulkTick> | null): { label: string; percent: number | null } {
  if (!news?.phase) return { label: "Starting…", percent: null };
  const phase = PHASES[news.phase] ?? news.phase;
  if (news.jobId) {
    const percent = news.jobStatus === "completed" ? 100 : Math.max(0, Math.min(100, news.jobProgress ?? 0));
    return { label: `${phase} (${news.jobId}): ${news.jobStatus ?? "queued"}, ${percent}%`, percent };
  }
  if (news.totalBytes) {
    const bytes = news.bytes ?? 0;
    return { label: `${phase}: ${size(bytes)} of ${size(news.totalBytes)}`, percent: Math.min(100, Math.round((bytes * 100) / news.totalBytes)) };
  }
  return { label: `${phase}…`, percent: null };
}

/** Whether the hub's job of this run may still be cancelled. */
export const jobRunning = (news: Partial<BulkTick> | null) =>
  !!news?.jobId && !["completed", "failed", "cancelled"].includes(news.jobStatus ?? "");

/** The confirmation an import asks for when its file deletes devices; null when it deletes none. */
export function deleteQuestion(dry: BulkDryRun): { title: string; lines: string[] } | null {
  const deletes = (dry.file?.byMode ?? []).filter(([mode]) => mode === "delete" || mode === "deleteIfMatchETag").reduce((n, [, c]) => n + c, 0);
  if (!deletes) return null;
  return {
    title: `Delete ${deletes} device${deletes === 1 ? "" : "s"} from ${dry.hub}?`,
    lines: [`${deletes} line${deletes === 1 ? "" : "s"} of the file delete${deletes === 1 ? "s" : ""} a device and its twin. This cannot be undone.`],
  };
}

export type DeviceSort = "id" | "status" | "authType" | "edge" | "tags";
export type DeviceFilter = { text: string; status: "all" | "enabled" | "disabled"; edge: "all" | "edge" | "leaf" };

/** The exported devices the table shows: those the filter keeps, in the order asked. */
export function deviceView(rows: BulkDeviceRow[], filter: DeviceFilter, sort: DeviceSort, descending = false): BulkDeviceRow[] {
  const text = filter.text.trim().toLowerCase();
  const kept = rows.filter(
    (r) =>
      (filter.status === "all" || r.status === filter.status) &&
      (filter.edge === "all" || r.edge === (filter.edge === "edge")) &&
      (!text || r.id.toLowerCase().includes(text) || r.tags.toLowerCase().includes(text) || r.desired.toLowerCase().includes(text)),
  );
  const key = (r: BulkDeviceRow) => (sort === "edge" ? (r.edge ? "1" : "0") : r[sort]);
  // The file's order is the hub's (by ID); sorting by anything else keeps it within equal keys.
  if (sort !== "id" || descending) kept.sort((a, b) => key(a).localeCompare(key(b)) || a.id.localeCompare(b.id));
  if (descending) kept.reverse();
  return kept;
}

export const AUTH_WORDS: Record<string, string> = { sas: "Symmetric key", selfSigned: "X.509 self-signed", certificateAuthority: "X.509 CA", none: "None" };

/** What a file check was made for: a check of another file or mode says nothing of this one. */
export const checkKey = (draft: BulkDraft) => `${draft.file.trim()}\n${draft.defaultMode}`;

class BulkWizard {
  step = $state<BulkStep>("plan");
  draft = $state(emptyDraft());
  subscriptionId = $state("");
  /** The import file's check, and the file and mode it was made for (`checkKey`). */
  check = $state<BulkFileCheck | null>(null);
  checkedFor = $state("");
  dry = $state<BulkDryRun | null>(null);
  /** The migration the wizard's pages show. */
  get live(): LiveMigration<"bulkIdentities"> {
    return migrations.shownFor("bulkIdentities");
  }
}

export const bulk = new BulkWizard();
