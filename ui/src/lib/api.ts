// Typed calls into the shell. Every type here is generated from Rust (bindings.ts); this file only
// names the commands and turns failures into ErrorPayloads the pages can branch on by `code`.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  Account,
  CentralAppSummary,
  ConnectionKind,
  SessionView,
  SignInProgress,
  SubscriptionSummary,
  AppInfo,
  BulkDryRun,
  BulkExportedDevices,
  BulkFileCheck,
  BulkInputLine,
  BulkPlan,
  BulkTargets,
  ImportMode,
  BundleSaved,
  EnvironmentOption,
  ErrorPayload,
  Settings,
  StartupEvent,
  Wizard,
  ActionDone,
  CentralAccess,
  Checked,
  DpsOption,
  DryRun,
  HubOption,
  HubStateDryRun,
  HubStatePlan,
  ItemPage,
  MigrationEntry,
  MigrationPlan,
  MigrationReport,
  Plan,
  Progress,
  ReportFormat,
  SourceOptions,
  TargetOptions,
  TickOf,
  WizardId,
} from "./bindings";

export type { ErrorPayload };

export function isErrorPayload(value: unknown): value is ErrorPayload {
  return typeof value === "object" && value !== null && "code" in value && "message" in value;
}

/** Any failure as an ErrorPayload: the shell's own, or a transport error wrapped with a code. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorPayload(error)) return error;
  return { code: "ipc.failed", message: String(error), detail: null, field: null, requestId: null };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toErrorPayload(error);
  }
}

/** What a run of wizard W streams: the steps, ticks carrying W's own news, how it ended. */
export type ProgressOf<W extends WizardId> = Progress<W extends keyof TickOf ? TickOf[W] : Record<string, never>>;

function channelOf<T>(onProgress: (progress: T) => void): Channel<T> {
  const channel = new Channel<T>();
  channel.onmessage = onProgress;
  return channel;
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  listWizards: () => call<Wizard[]>("list_wizards"),
  listEnvironments: () => call<EnvironmentOption[]>("list_environments"),
  getSettings: () => call<Settings>("get_settings"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
  /** Forgets the sandbox's saved state; it starts again from the built-in scenario. */
  sandboxReset: () => call<void>("sandbox_reset"),
  /** Told (with the number running) when the window is closed while migrations run. */
  closeRequests: (onRequest: (running: number) => void) => call<void>("close_requests", { onRequest: channelOf(onRequest) }),
  /** "Close anyway": the window closes; the migrations resume when the app opens again. */
  closeConfirmed: () => call<void>("close_confirmed"),
  openLogFolder: () => call<string>("open_log_folder"),
  saveDiagnosticsBundle: () => call<BundleSaved>("save_diagnostics_bundle"),
  uiReady: () => call<void>("ui_ready"),
  sessionView: () => call<SessionView>("session_view"),
  /** Opens the system browser; resolves with the account once the redirect came back. */
  signIn: (onProgress: (progress: SignInProgress) => void) => {
    const channel = new Channel<SignInProgress>();
    channel.onmessage = onProgress;
    return call<Account>("sign_in", { onProgress: channel });
  },
  cancelSignIn: () => call<void>("cancel_sign_in"),
  switchAccount: (id: string) => call<SessionView>("switch_account", { id }),
  signOut: (id: string) => call<SessionView>("sign_out", { id }),
  listSubscriptions: () => call<SubscriptionSummary[]>("list_subscriptions"),
  listCentralApps: () => call<CentralAppSummary[]>("list_central_apps"),
  addConnection: (kind: ConnectionKind, label: string, secret: string, centralSubdomain: string | null, remember: boolean) =>
    call<SessionView>("add_connection", { kind, label, secret, centralSubdomain, remember }),
  removeConnection: (id: string) => call<SessionView>("remove_connection", { id }),
  // Every wizard's migrations, through one set of commands (the shell finds each one's wizard).
  /** Records and starts the migration; resolves with its ID at once, progress follows on the channel. */
  migrationStart: <W extends MigrationPlan["wizard"]>(plan: Extract<MigrationPlan, { wizard: W }>, onProgress: (progress: ProgressOf<W>) => void) =>
    call<string>("migration_start", { plan, onProgress: channelOf(onProgress) }),
  migrationResume: <W extends WizardId>(id: string, onProgress: (progress: ProgressOf<W>) => void) => call<void>("migration_resume", { id, onProgress: channelOf(onProgress) }),
  /** `includeUnlikely`: also the items expected to fail again as they are (no DeviceMove in their firmware). */
  migrationRetry: <W extends WizardId>(id: string, includeUnlikely: boolean, onProgress: (progress: ProgressOf<W>) => void) =>
    call<void>("migration_retry", { id, includeUnlikely, onProgress: channelOf(onProgress) }),
  migrationStop: (id: string) => call<boolean>("migration_stop", { id }),
  /** One of the wizard's own actions (Central → Hub: "stopJobs", "resumeJobs"). */
  migrationAct: (id: string, action: string) => call<ActionDone>("migration_act", { id, action }),
  migrationItems: (id: string, kind: string | null, filter: string | null, offset: number, limit: number) =>
    call<ItemPage>("migration_items", { id, kind, filter, offset, limit }),
  migrationReport: (id: string) => call<MigrationReport>("migration_report", { id }),
  /** Asks where to save (the system's save dialog); resolves with the path, or null when cancelled. */
  migrationExport: (id: string, format: ReportFormat) => call<string | null>("migration_export", { id, format }),
  /** Opens the folder of a saved report in the file manager. */
  showInFolder: (path: string) => call<string>("show_in_folder", { path }),
  migrationList: () => call<MigrationEntry[]>("migration_list"),
  /** A plan of `wizard` from a plan file's text; a mistake comes back with its line and field. */
  migrationReadPlan: (wizard: WizardId, text: string) => call<MigrationPlan>("migration_read_plan", { wizard, text }),
  /** Saves the plan as a file in Downloads (the file `iotm <wizard> run` takes); resolves with its path. */
  migrationSavePlan: (plan: MigrationPlan) => call<string>("migration_save_plan", { plan }),
  // The Central → Hub wizard's own: what its pages pick from, and its dry run.
  c2hSourceOptions: (subdomain: string, access: CentralAccess) => call<SourceOptions>("c2h_source_options", { subdomain, access }),
  c2hTargetOptions: (subscriptionId: string) => call<TargetOptions>("c2h_target_options", { subscriptionId }),
  c2hCreateDps: (subscriptionId: string, resourceGroup: string, name: string, location: string) =>
    call<DpsOption>("c2h_create_dps", { subscriptionId, resourceGroup, name, location }),
  c2hDryRun: (plan: Plan, onProgress: (checked: Checked) => void) => call<DryRun>("c2h_dry_run", { plan, onProgress: channelOf(onProgress) }),
  hubStateHubs: (subscriptionId: string) => call<HubOption[]>("hub_state_hubs", { subscriptionId }),
  /** The state file's path from the system's file dialog (`save` for an export); null when cancelled. */
  hubStateChooseFile: (save: boolean, suggested: string) => call<string | null>("hub_state_choose_file", { save, suggested }),
  hubStateDryRun: (plan: HubStatePlan, onProgress: (checked: Checked) => void) =>
    call<HubStateDryRun>("hub_state_dry_run", { plan, onProgress: channelOf(onProgress) }),
  // The Bulk identities wizard's own: what its page picks from, its files, and its dry run.
  bulkTargets: (subscriptionId: string) => call<BulkTargets>("bulk_targets", { subscriptionId }),
  /** A devices.txt's path from the system's file dialog (`save` for an export); null when cancelled. */
  bulkChooseFile: (save: boolean, suggested: string) => call<string | null>("bulk_choose_file", { save, suggested }),
  /** The file checked on this machine as the run will check it; nothing is uploaded. */
  bulkCheckFile: (file: string, defaultMode: ImportMode) => call<BulkFileCheck>("bulk_check_file", { file, defaultMode }),
  bulkDryRun: (plan: BulkPlan, onProgress: (checked: Checked) => void) => call<BulkDryRun>("bulk_dry_run", { plan, onProgress: channelOf(onProgress) }),
  /** The lines (keys redacted) of the file the migration imported, to show beside its errors. */
  bulkInputLines: (id: string, lines: number[]) => call<BulkInputLine[]>("bulk_input_lines", { id, lines }),
  /** The devices the migration exported, from the file it saved; null when it was not an export. */
  bulkExportedDevices: (id: string) => call<BulkExportedDevices | null>("bulk_exported_devices", { id }),
  /** Streams each start-up check's progress to `onEvent` over a Tauri Channel. */
  runStartupChecks: (onEvent: (event: StartupEvent) => void) => {
    const channel = new Channel<StartupEvent>();
    channel.onmessage = onEvent;
    return call<void>("run_startup_checks", { onEvent: channel });
  },
};
