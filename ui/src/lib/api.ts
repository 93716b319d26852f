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
  /** Streams each start-up check's progress to `onEvent` over a Tauri Channel. */
  runStartupChecks: (onEvent: (event: StartupEvent) => void) => {
    const channel = new Channel<StartupEvent>();
    channel.onmessage = onEvent;
    return call<void>("run_startup_checks", { onEvent: channel });
  },
};
