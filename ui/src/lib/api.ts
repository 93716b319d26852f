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
  BundleSaved,
  EnvironmentOption,
  ErrorPayload,
  Settings,
  StartupEvent,
  Wizard,
  CentralAccess,
  Checked,
  DevicePage,
  DpsOption,
  DryRun,
  JobsChanged,
  MigrationEntry,
  Plan,
  Progress,
  Report,
  SourceOptions,
  TargetOptions,
} from "./bindings";

export type { ErrorPayload };

export function isErrorPayload(value: unknown): value is ErrorPayload {
  return typeof value === "object" && value !== null && "code" in value && "message" in value;
}

/** Any failure as an ErrorPayload: the shell's own, or a transport error wrapped with a code. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorPayload(error)) return error;
  return { code: "ipc.failed", message: String(error), detail: null, field: null };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toErrorPayload(error);
  }
}

function channelOf(onProgress: (progress: Progress) => void): Channel<Progress> {
  const channel = new Channel<Progress>();
  channel.onmessage = onProgress;
  return channel;
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  listWizards: () => call<Wizard[]>("list_wizards"),
  listEnvironments: () => call<EnvironmentOption[]>("list_environments"),
  getSettings: () => call<Settings>("get_settings"),
  saveSettings: (settings: Settings) => call<Settings>("save_settings", { settings }),
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
  c2hSourceOptions: (subdomain: string, access: CentralAccess) => call<SourceOptions>("c2h_source_options", { subdomain, access }),
  c2hTargetOptions: (subscriptionId: string) => call<TargetOptions>("c2h_target_options", { subscriptionId }),
  c2hCreateDps: (subscriptionId: string, resourceGroup: string, name: string, location: string) =>
    call<DpsOption>("c2h_create_dps", { subscriptionId, resourceGroup, name, location }),
  c2hDryRun: (plan: Plan, onProgress: (checked: Checked) => void) => {
    const channel = new Channel<Checked>();
    channel.onmessage = onProgress;
    return call<DryRun>("c2h_dry_run", { plan, onProgress: channel });
  },
  /** Records and starts the migration; resolves with its ID at once, progress follows on the channel. */
  c2hStart: (plan: Plan, onProgress: (progress: Progress) => void) => call<string>("c2h_start", { plan, onProgress: channelOf(onProgress) }),
  c2hResume: (id: string, onProgress: (progress: Progress) => void) => call<void>("c2h_resume", { id, onProgress: channelOf(onProgress) }),
  c2hRetry: (id: string, onProgress: (progress: Progress) => void) => call<void>("c2h_retry", { id, onProgress: channelOf(onProgress) }),
  c2hStop: (id: string) => call<boolean>("c2h_stop", { id }),
  c2hStopJobs: (id: string) => call<JobsChanged>("c2h_stop_jobs", { id }),
  c2hResumeJobs: (id: string) => call<JobsChanged>("c2h_resume_jobs", { id }),
  c2hDevices: (id: string, filter: string | null, offset: number, limit: number) => call<DevicePage>("c2h_devices", { id, filter, offset, limit }),
  c2hReport: (id: string) => call<Report>("c2h_report", { id }),
  c2hExportReport: (id: string, format: "csv" | "json") => call<string>("c2h_export_report", { id, format }),
  listMigrations: () => call<MigrationEntry[]>("list_migrations"),
  /** Streams each start-up check's progress to `onEvent` over a Tauri Channel. */
  runStartupChecks: (onEvent: (event: StartupEvent) => void) => {
    const channel = new Channel<StartupEvent>();
    channel.onmessage = onEvent;
    return call<void>("run_startup_checks", { onEvent: channel });
  },
};
