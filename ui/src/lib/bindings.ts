// Generated from the Rust types by `./x bindings` (crates/core/src/bindings.rs). Do not edit.

export type ErrorCode = "accounts.corrupt" | "accounts.unknown" | "azure.cloud_profile" | "azure.connection" | "azure.connection_string" | "azure.decode" | "azure.forbidden" | "azure.host_not_allowed" | "azure.invalid_input" | "azure.link_to_another_host" | "azure.not_https" | "azure.not_in_cloud" | "azure.operation_failed" | "azure.redirect_refused" | "azure.service" | "azure.setup" | "azure.signed_out" | "azure.throttled" | "azure.timeout" | "azure.unauthorized" | "bulk.file" | "bulk.hubBusy" | "bulk.invalidFile" | "bulk.jobCancelled" | "bulk.jobFailed" | "bulk.line.badId" | "bulk.line.badKey" | "bulk.line.badStatus" | "bulk.line.badThumbprint" | "bulk.line.duplicateId" | "bulk.line.json" | "bulk.line.missingField" | "bulk.line.twinTooLarge" | "bulk.line.unknownMode" | "bulk.noSuchContainer" | "bulk.noSuchStorageAccount" | "bulk.nothingMatches" | "bulk.sasExpired" | "bulk.sasWithoutPermission" | "centralToHub.device_move_ambiguous" | "centralToHub.device_move_on_wrong_interface" | "centralToHub.dps_forbidden" | "centralToHub.empty_selection" | "centralToHub.enrollment_clash" | "centralToHub.hub_not_linked" | "centralToHub.job_failed" | "centralToHub.link_forbidden" | "centralToHub.no_such_device_group" | "centralToHub.nothing_to_move" | "centralToHub.template_without_device_move" | "centralToHub.too_many_left_out" | "centralToHub.tpm_group" | "centralToHub.x509_certificate_mismatch" | "centralToHub.x509_certificate_needed" | "connections.check_failed" | "connections.corrupt" | "connections.expired" | "connections.invalid" | "connections.key_refused" | "connections.rights_missing" | "connections.unknown" | "connections.unreachable" | "diagnostics.bundle_failed" | "dpsLinkedHubs.already_linked" | "dpsLinkedHubs.bad_connection_string" | "dpsLinkedHubs.local_auth_disabled" | "dpsLinkedHubs.not_linked" | "dpsLinkedHubs.other_cloud" | "dpsLinkedHubs.pinned_enrollments" | "dpsLinkedHubs.policy_lacks_rights" | "dpsLinkedHubs.proof_failed" | "dpsLinkedHubs.read_only_dps" | "dpsLinkedHubs.too_many_conflicts" | "dpsLinkedHubs.weight_out_of_range" | "dpsLinkedHubs.would_orphan_enrollments" | "hubState.bad_path" | "hubState.configurations_unavailable" | "hubState.file_invalid" | "hubState.file_newer_version" | "hubState.file_truncated" | "hubState.file_unreadable" | "hubState.no_such_hub" | "io.failed" | "ipc.failed" | "journal.migration_failed" | "journal.not_found" | "journal.open_failed" | "journal.secret_in_plan" | "journal.too_new" | "journal.unknown_wizard" | "journal.write_failed" | "logging.setup_failed" | "migration.alreadyRunning" | "migration.badCheckpoint" | "migration.badJournaledPlan" | "migration.badPlan" | "migration.cancelled" | "migration.fileNotWritten" | "migration.unsupported" | "migration.wrongWizard" | "os.open_failed" | "report.bad_format" | "report.bad_path" | "sandbox.migration_running" | "sandbox.not_running" | "sandbox.reset_failed" | "secrets.keyring_failed" | "secrets.keyring_unavailable" | "session.not_signed_in" | "session.other_cloud" | "settings.corrupt" | "settings.invalid" | "signin.access_denied" | "signin.app_not_found" | "signin.blocked_by_policy" | "signin.browser_failed" | "signin.cancelled" | "signin.code_expired" | "signin.consent_required" | "signin.entra_error" | "signin.interaction_required" | "signin.listener_failed" | "signin.mfa_required" | "signin.pkce_mismatch" | "signin.port_busy" | "signin.redirect_uri_mismatch" | "signin.response_type_not_enabled" | "signin.service_failed" | "signin.session_expired" | "signin.spa_origin_required" | "signin.timed_out" | "signin.wrong_tenant" | "startup.interrupted";

export type TickOf = { centralToHub: CentralToHubTick; hubState: HubStateTick; bulkIdentities: BulkTick };

export type ErrorPayload = { code: ErrorCode, message: string, detail: string | null, field: string | null, requestId: string | null, };

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

export type CheckId = "settings" | "savedFiles" | "dataFolder" | "journal" | "logFolder" | "environment";

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
 * `<object ID>.<tenant ID>@<environment>`: Entra's home account ID in one environment.
 */
id: string, username: string, displayName: string, tenantId: string, environment: Environment, clientId: string, registration: RegistrationKind, 
/**
 * The redirect URI the account signed in with (a SPA registration's refreshes carry its origin).
 */
redirectUri: string, 
/**
 * Signed in for this session only (no keyring): gone when the app closes.
 */
sessionOnly: boolean, 
/**
 * The Entra authority that issued the account's tokens (`https://login.microsoftonline.com/`,
 * the sandbox's address): its refresh token goes to no other. Empty in accounts saved before.
 */
authority: string, };

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

export type SignInProgress = { "kind": "waitingForBrowser", authorizeUrl: string, redirectUri: string, expiresInSeconds: number, browser: BrowserLaunch, } | { "kind": "redeeming" };

export type BrowserLaunch = { "state": "opening" } | { "state": "opened" } | { "state": "notOpened", reason: string, };

export type MigrationState = "planned" | "running" | "completed" | "failed" | "cancelled";

export type MigrationSummary = { id: string, wizard: WizardId, title: string, state: MigrationState, createdAt: string, updatedAt: string, stepsDone: number, stepsFailed: number, };

export type StepRecord = { key: string, intent: unknown, outcome: unknown, errorCode: string | null, errorMessage: string | null, startedAt: string, finishedAt: string | null, };

export type StepState = "started" | "done" | "alreadyDone" | "failed";

export type ItemRow = { 
/**
 * What it is: `device`, `module`, `configuration`, `line`…
 */
kind: string, 
/**
 * Its key within its kind (a device ID, `device/module`, a line number).
 */
key: string, state: string, 
/**
 * A reason code (`noAnswer`, `wrongKey`…, with `:detail` when there is one), for failed items.
 */
reason: string | null, };

export type Progress<T> = { "kind": "step", key: string, title: string, state: StepState, detail: string | null, } | { "kind": "tick", elapsedMs: number, 
/**
 * Items by state (of the wizard's main kind of item).
 */
counts: Record<string, number>, } & T | { "kind": "finished", ok: boolean, code: ErrorCode | null, message: string | null, requestId: string | null, counts: Record<string, number>, };

export type Checked = { checked: number, total: number, };

export type PlanProblem = { field: string, problem: string, 
/**
 * The line in the plan file, when the plan came from one.
 */
line: number | null, };

export type RunOutcome = { counts: Record<string, number>, };

export type MigrationEntry = { summary: MigrationSummary, runningHere: boolean, 
/**
 * Its items (Central → Hub: devices) by state, as the journal holds them now.
 */
counts: Record<string, number>, };

export type ItemPage = { kind: string, counts: Record<string, number>, rows: Array<ItemRow>, };

export type ActionDone = { changed: number, };

export type RetryRound = { 
/**
 * 1 for the first retry.
 */
attempt: number, retried: number, 
/**
 * Of those retried, how many reached the wizard's successful state in this retry.
 */
moved: number, leftOut: number, };

export type ReportFormat = "csv" | "json";

export type MigrationPlan = { "wizard": "centralToHub", "plan": Plan } | { "wizard": "hubState", "plan": HubStatePlan } | { "wizard": "bulkIdentities", "plan": BulkPlan };

export type MigrationReport = { "wizard": "centralToHub", "report": Report } | { "wizard": "hubState", "report": HubStateReport } | { "wizard": "bulkIdentities", "report": BulkReport };

export type BulkPlan = { hub: BulkHubTarget, storage: BulkStorageTarget, operation: BulkOperation, };

export type BulkHubTarget = { subscriptionId: string, resourceGroup: string, hubName: string, };

export type BulkStorageTarget = { subscriptionId: string, resourceGroup: string, account: string, container: string, };

export type BulkOperation = { "kind": "export", excludeKeys: boolean, saveTo: string, } | { "kind": "import", file: string, defaultMode: ImportMode, } | { "kind": "generate", prefix: string, count: number, keysFile: string, } | { "kind": "delete", query: string, } | { "kind": "setStatus", query: string, enabled: boolean, } | { "kind": "regenerateKeys", query: string, keysFile: string, };

export type ImportMode = "create" | "update" | "updateIfMatchETag" | "createOrUpdate" | "createOrUpdateIfMatchETag" | "delete" | "deleteIfMatchETag" | "updateTwin" | "updateTwinIfMatchETag";

export type LineProblem = { 
/**
 * 1-based, as an editor counts.
 */
line: number, 
/**
 * `bulk.line.json`, `bulk.line.missingField`, `bulk.line.badId`, `bulk.line.unknownMode`,
 * `bulk.line.badKey`, `bulk.line.badThumbprint`, `bulk.line.badStatus`,
 * `bulk.line.duplicateId`, `bulk.line.twinTooLarge`.
 */
code: string, 
/**
 * The field the problem is in (`authentication.symmetricKey.primaryKey`), when one is.
 */
field: string | null, message: string, };

export type BulkFileSummary = { lines: number, byMode: Array<[ImportMode, number]>, };

export type ImportError = { 
/**
 * The input line it refers to (1-based), when one could be found.
 */
line: number | null, deviceId: string | null, errorCode: number | null, 
/**
 * The code in words.
 */
meaning: string, 
/**
 * What the service said.
 */
status: string, };

export type BulkDryRun = { operation: string, hub: string, 
/**
 * How many devices the hub holds now.
 */
devicesInHub: number, container: string, 
/**
 * An import's file, as checked.
 */
file: BulkFileSummary | null, 
/**
 * The devices an operation's query finds (the first 20 named).
 */
matching: number | null, sample: Array<string>, 
/**
 * Every change, in words and counts.
 */
changes: Array<string>, };

export type BulkReport = { id: string, title: string, state: MigrationState, 
/**
 * Devices by outcome (`exported`, `imported`, `failed`).
 */
counts: Record<string, number>, 
/**
 * The hub's job IDs, by step (`exportJob`, `importJob`).
 */
jobs: Array<[string, string]>, 
/**
 * importErrors.log, each beside its input line.
 */
errors: Array<ImportError>, 
/**
 * Why the run stopped, when it did.
 */
stoppedBy: string | null, };

export type BulkTick = { 
/**
 * `upload`, `export`, `import`, `download`.
 */
phase: string, jobId: string | null, jobStatus: string | null, jobProgress: number | null, bytes: number, totalBytes: number, };

export type BulkStorageOption = { name: string, resourceGroup: string, location: string, };

export type BulkTargets = { hubs: Array<HubOption>, storageAccounts: Array<BulkStorageOption>, defaultContainer: string, };

export type BulkInputLine = { line: number, text: string, };

export type BulkFileCheck = { summary: BulkFileSummary | null, problems: Array<LineProblem>, 
/**
 * Problems found beyond those listed.
 */
moreProblems: number, 
/**
 * The text of each line a listed problem is on.
 */
lines: Array<BulkInputLine>, };

export type BulkDeviceRow = { id: string, status: string, 
/**
 * `sas`, `selfSigned`, `certificateAuthority` or `none`.
 */
authType: string, edge: boolean, 
/**
 * The twin's tags (`{}` when none).
 */
tags: string, 
/**
 * The desired properties, without the service's `$metadata` and `$version`.
 */
desired: string, };

export type BulkExportedDevices = { file: string, rows: Array<BulkDeviceRow>, 
/**
 * Devices in the file beyond the rows (past `MOST_ROWS`).
 */
more: number, };

export type PayloadShape = { "object": { fields: Array<string>, } } | "idScopeString";

export type DeviceMoveCommand = { templateId: string, component: string | null, 
/**
 * The job data's `path`: `migration.DeviceMove`, or `DeviceMove` at the root.
 */
path: string, payload: PayloadShape, };

export type Plan = { source: Source, target: Target, enrollment: Enrollment, job: JobOptions, verify: VerifyOptions, };

export type Source = { 
/**
 * The application's subdomain (`contoso-fleet` of contoso-fleet.azureiotcentral.com).
 */
subdomain: string, 
/**
 * How the app is reached: the signed-in account, or a saved API token (by its ID).
 */
access: CentralAccess, 
/**
 * The device template whose devices move; it must carry DeviceMove.
 */
templateId: string, 
/**
 * The Central device groups to move (one job each). Empty: every device of the template,
 * through a device group the migration creates for it.
 */
deviceGroups: Array<string>, 
/**
 * Send DeviceMove also to devices the target hub already holds (moved before). Off: they are
 * left out, so a plan run twice never moves a fleet twice.
 */
includeAlreadyInTarget: boolean, };

export type CentralAccess = { "kind": "signedIn" } | { "kind": "apiToken", connectionId: string, };

export type Target = { subscriptionId: string, resourceGroup: string, dpsName: string, 
/**
 * The hub the devices must land in (name, in the same subscription).
 */
hubName: string, hubResourceGroup: string | null, 
/**
 * Link the hub to the DPS when it is not linked yet (an ETag-guarded update of the DPS).
 */
linkHubIfNeeded: boolean, };

export type Enrollment = { 
/**
 * Central's enrollment group whose keys the devices derive theirs from.
 */
centralGroupId: string, 
/**
 * The DPS enrollment group to create (or reuse, when it holds the same keys). Left out of a
 * plan file, the name the wizard proposes for the app and template (`Plan::complete`).
 */
dpsGroupId: string, 
/**
 * The PEM of the signing certificate, for an X.509 group: Central shows only its thumbprint,
 * so the person gives the certificate (public; never its private key).
 */
x509CertificatePem: string | null, };

export type PayloadStyle = "fromTemplate" | "idScopeString";

export type JobOptions = { payload: PayloadStyle, 
/**
 * Devices per batch (Central runs a job in batches); none: all at once.
 */
batchSize: number | null, 
/**
 * Cancel the job once this share of devices (percent) has failed; none: never.
 */
cancellationThresholdPercent: number | null, };

export type VerifyOptions = { 
/**
 * How long after the job ends a device that answered may take to appear in the hub before it
 * counts as failed.
 */
settleSeconds: number, };

export type TemplateOption = { id: string, displayName: string, deviceMove: DeviceMoveCommand | null, 
/**
 * Why it cannot be moved, when it cannot.
 */
problem: string | null, problemCode: string | null, 
/**
 * The DPS enrollment group name proposed for this app and template (unique to them).
 */
proposedDpsGroupId: string, };

export type GroupOption = { id: string, displayName: string, filter: string, 
/**
 * The one template the group's filter selects (`$template = "…"`), when it names one.
 */
template: string | null, };

export type EnrollmentGroupOption = { id: string, displayName: string, 
/**
 * `iot` or `iotEdge`.
 */
kind: string, 
/**
 * `symmetricKey`, `x509` or `tpm`.
 */
attestation: string, };

export type SourceOptions = { templates: Array<TemplateOption>, deviceGroups: Array<GroupOption>, enrollmentGroups: Array<EnrollmentGroupOption>, };

export type DpsOption = { name: string, resourceGroup: string, location: string, idScope: string, allocationPolicy: string, linkedHubs: Array<string>, };

export type HubOption = { name: string, resourceGroup: string, location: string, hostName: string, sku: string, };

export type ResourceGroupOption = { name: string, location: string, };

export type RegionOption = { 
/**
 * `westeurope`: what a resource's `location` holds.
 */
name: string, 
/**
 * `West Europe`: what the picker shows.
 */
displayName: string, };

export type TargetOptions = { dps: Array<DpsOption>, hubs: Array<HubOption>, 
/**
 * Where a new DPS can go: the subscription's resource groups…
 */
resourceGroups: Array<ResourceGroupOption>, 
/**
 * …and the regions it may place resources in (ARM's list for the subscription, with the
 * regions its resource groups and IoT resources are in; once each, by display name).
 */
locations: Array<RegionOption>, };

export type AttestationKind = "groupKey" | "ownKey" | "x509" | "tpm" | "notChecked";

export type Expected = { code: string, reason: string, };

export type ReadinessRow = { deviceId: string, displayName: string, group: string, provisioned: boolean, enabled: boolean, attestation: AttestationKind, 
/**
 * Why the device is expected to fail, if it is (a reason code and a sentence).
 */
expectedFailure: Expected | null, 
/**
 * The target hub holds the device already (it was moved before): why it is left out, or why
 * it is moved again when the plan asks for that.
 */
alreadyInTarget: Expected | null, };

export type GroupSelection = { id: string, displayName: string, devices: number, 
/**
 * Devices of other templates in the group: the job leaves them alone.
 */
otherTemplates: number, };

export type Readiness = { groups: Array<GroupSelection>, rows: Array<ReadinessRow>, ready: number, expectedToFail: number, 
/**
 * Counts by expected-failure code.
 */
byReason: { [key in string]: number }, attestationChecked: boolean, 
/**
 * Devices the target hub already holds, left out of the move (not counted in `ready`).
 */
leftOut: number, };

export type DpsView = { name: string, idScope: string, allocationPolicy: string, serviceHost: string, linkedHubs: Array<string>, };

export type Change = { 
/**
 * `linkHub`, `createEnrollmentGroup`, `reuseEnrollmentGroup`, `createDeviceGroup`, `createJob`.
 */
kind: string, description: string, };

export type Estimate = { lowSeconds: number, highSeconds: number, assumptions: string, };

export type DryRun = { command: DeviceMoveCommand, payload: unknown, dps: DpsView, hubHost: string, changes: Array<Change>, readiness: Readiness, 
/**
 * Each expected-failure code of the readiness in a few words (`wrongKey` → "own key, not the group's").
 */
reasonWords: { [key in string]: string }, estimate: Estimate, 
/**
 * What no dry run can know, said beside its prediction.
 */
cannotKnow: Array<string>, };

export type DeviceState = "pending" | "answered" | "registered" | "verified" | "failed";

export type CentralToHubTick = { 
/**
 * Job statuses by job ID (`running`, `completed`…).
 */
jobs: Record<string, string>, changed: Array<ItemRow>, };

export type ReportRow = { deviceId: string, state: DeviceState, reasonCode: string | null, reason: string | null, 
/**
 * How many times DeviceMove was tried for the device (1, plus one per retry that included it).
 */
attempts: number, 
/**
 * The reason codes its earlier attempts failed for, first first.
 */
earlierReasons: Array<string>, };

export type Report = { migrationId: string, title: string, state: MigrationState, createdAt: string, updatedAt: string, total: number, verified: number, failed: number, 
/**
 * Devices the run had not finished with (still pending, answered or registered).
 */
unfinished: number, 
/**
 * Devices of the selection the target hub already held (moved before): left out, not moved.
 */
leftOut: number, 
/**
 * Failed devices by reason code.
 */
byReason: Record<string, number>, 
/**
 * Each retry: how many devices it retried, how many of them moved, how many it left out.
 */
retries: Array<RetryRound>, steps: Array<StepRecord>, devices: Array<ReportRow>, };

export type HubStateAction = "export" | "import" | "migrate";

export type HubStateAspect = "arm" | "configurations" | "devices";

export type HubRef = { subscriptionId: string, resourceGroup: string, hubName: string, };

export type HubStatePlan = { action: HubStateAction, 
/**
 * Left out of a plan file: configurations and devices.
 */
aspects: Array<HubStateAspect>, 
/**
 * The hub read from (export, migrate).
 */
source: HubRef | null, 
/**
 * The hub written to (import, migrate); it must exist.
 */
target: HubRef | null, 
/**
 * The state file written (export) or read (import).
 */
file: string | null, 
/**
 * How an export writes the file: the CLI's JSON (default) or JSON Lines for large hubs. An
 * import tells the variant from the file itself.
 */
variant: StateFileVariant | null, 
/**
 * Delete from the target the devices, modules and configurations the state does not hold.
 */
replace: boolean, };

export type StateFileVariant = "json" | "lines";

export type HubStateChange = "create" | "update" | "delete" | "unchanged";

export type HubStatePlannedChange = { 
/**
 * `device`, `module` (`device/module`) or `configuration`.
 */
kind: string, id: string, change: HubStateChange, };

export type HubStateDryRun = { action: HubStateAction, 
/**
 * By kind, then by change (`create`, `update`, `delete`, `unchanged`; `export` for an export).
 */
counts: Record<string, Record<string, number>>, 
/**
 * Every change but `unchanged`, up to `LISTED` of each sort.
 */
changes: Array<HubStatePlannedChange>, listedAll: boolean, 
/**
 * The state file's variant (import).
 */
variant: StateFileVariant | null, };

export type HubStateTick = { phase: string, changed: Array<ItemRow>, };

export type HubStateReport = { migrationId: string, title: string, state: MigrationState, 
/**
 * By kind, then by outcome.
 */
counts: Record<string, Record<string, number>>, steps: Array<StepRecord>, 
/**
 * Every item, devices first.
 */
items: Array<ItemRow>, };
