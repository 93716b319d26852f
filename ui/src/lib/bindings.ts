// Generated from the Rust types by `./x bindings` (crates/core/src/bindings.rs). Do not edit.

export type ErrorPayload = { code: string, message: string, detail: string | null, field: string | null, };

export type Environment = "sandbox" | "azurePublic" | "azureUsGov" | "azureChina" | "custom";

export type EnvironmentOption = { id: Environment, label: string, };

export type Theme = "system" | "light" | "dark";

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

export type Settings = { environment: Environment, 
/**
 * The JSON cloud profile used when `environment` is `custom`.
 */
customProfilePath: string | null, 
/**
 * `organizations`, `common`, a tenant ID (GUID) or a verified domain.
 */
tenant: string, 
/**
 * The Entra app registration's client ID; empty means the environment's built-in one.
 */
clientId: string, 
/**
 * How that registration is registered: single-page app (as the Node migrator's were) or desktop.
 */
registration: RegistrationKind, 
/**
 * Loopback port of the sign-in redirect (`http://localhost:<port>`).
 */
redirectPort: number, logLevel: LogLevel, theme: Theme, };

export type Versions = { app: string, tauri: string, webview: string, os: string, arch: string, };

export type BundleSaved = { path: string, files: Array<string>, bytes: number, };

export type CheckStatus = "running" | "passed" | "warning" | "failed";

export type CheckId = "settings" | "dataFolder" | "logFolder" | "environment";

export type PlannedCheck = { id: CheckId, label: string, };

export type StartupEvent = { "event": "planned", checks: Array<PlannedCheck>, } | { "event": "update", id: CheckId, status: CheckStatus, detail: string | null, } | { "event": "finished", passed: number, warnings: number, failed: number, };

export type WizardId = "centralToHub" | "hubState" | "bulkIdentities" | "dpsLinkedHubs" | "iotOperationsClone";

export type WizardStep = "plan" | "dryRun" | "run" | "verify" | "report";

export type Wizard = { id: WizardId, title: string, summary: string, 
/**
 * What the wizard will do, step by step, in the user's words.
 */
whatItDoes: Array<string>, steps: Array<WizardStep>, available: boolean, };

export type AppInfo = { versions: Versions, dataDir: string, configDir: string, logDir: string, };

export type RegistrationKind = "spa" | "desktop";

export type Account = { 
/**
 * `<object ID>.<tenant ID>`, as Entra's home account ID.
 */
id: string, username: string, displayName: string, tenantId: string, environment: Environment, clientId: string, registration: RegistrationKind, 
/**
 * The redirect URI the account signed in with (a SPA registration's refreshes carry its origin).
 */
redirectUri: string, 
/**
 * Signed in for this session only (no keyring): gone when the app closes.
 */
sessionOnly: boolean, };

export type Accounts = { accounts: Array<Account>, 
/**
 * The account the wizards act as.
 */
current: string | null, };

export type ConnectionKind = "iotHub" | "dps" | "centralApiToken";

export type SavedConnection = { id: string, kind: ConnectionKind, label: string, 
/**
 * The hub or DPS host name, or the Central app's subdomain.
 */
target: string, 
/**
 * The shared access policy (connection strings) — never its key.
 */
policy: string | null, 
/**
 * When a Central API token stops working (RFC 3339).
 */
expires: string | null, 
/**
 * Kept in the keyring; otherwise gone when the app closes.
 */
remembered: boolean, };

export type SessionView = { accounts: Array<Account>, current: string | null, 
/**
 * False where no keyring answered: sign-ins last for this session only.
 */
keyringAvailable: boolean, keyringProblem: string | null, 
/**
 * Connection strings and API tokens, described (never their secrets).
 */
connections: Array<SavedConnection>, };

export type SubscriptionSummary = { id: string, name: string, state: string | null, };

export type CentralAppSummary = { name: string, displayName: string, subdomain: string, subscriptionId: string, resourceGroup: string, location: string, applicationId: string | null, };

export type SignInProgress = { "kind": "waitingForBrowser", authorizeUrl: string, redirectUri: string, expiresInSeconds: number, } | { "kind": "redeeming" };

export type MigrationState = "planned" | "running" | "completed" | "failed" | "cancelled";

export type MigrationSummary = { id: string, wizard: string, title: string, state: MigrationState, createdAt: string, updatedAt: string, stepsDone: number, stepsFailed: number, };

export type StepRecord = { key: string, intent: unknown, outcome: unknown, errorCode: string | null, errorMessage: string | null, startedAt: string, finishedAt: string | null, };

export type PayloadShape = { "object": { fields: Array<string>, } } | "idScopeString";

export type DeviceMoveCommand = { templateId: string, component: string | null, 
/**
 * The job data's `path`: `migration.DeviceMove`, or `DeviceMove` at the root.
 */
path: string, payload: PayloadShape, };
