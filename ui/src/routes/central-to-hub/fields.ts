// The plan's fields by the labels the Plan page shows them under: an error names
// `job.cancellationThresholdPercent`, the person reads "Cancel when this % failed".
import type { ErrorPayload } from "../../lib/bindings";

export const FIELD_LABELS: Record<string, string> = {
  "source.subdomain": "IoT Central application",
  "source.templateId": "Device template",
  "source.deviceGroups": "Devices",
  "source.includeAlreadyInTarget": "Also send DeviceMove to devices already in the target hub",
  "enrollment.centralGroupId": "Central's enrollment group",
  "enrollment.x509CertificatePem": "Signing certificate",
  "target.subscriptionId": "Subscription",
  "target.resourceGroup": "Device Provisioning Service",
  "target.dpsName": "Device Provisioning Service",
  "target.hubName": "Target hub",
  "target.hubResourceGroup": "Target hub",
  "target.linkHubIfNeeded": "Target hub",
  "enrollment.dpsGroupId": "DPS enrollment group",
  "job.payload": "Payload",
  "job.batchSize": "Batch size",
  "job.cancellationThresholdPercent": "Cancel when this % failed",
  "verify.settleSeconds": "Seconds a device may take to reach the hub",
};

// Fields the page shows as one control: the DPS picker sets its resource group too, the hub picker its.
const SHOWN_AT: Record<string, string> = {
  "source.includeAlreadyInTarget": "source.deviceGroups",
  "target.resourceGroup": "target.dpsName",
  "target.hubResourceGroup": "target.hubName",
  "target.linkHubIfNeeded": "target.hubName",
};

/** The control an error is about (`source.deviceGroups[1]` → `source.deviceGroups`), when the page has it. */
export function fieldOf(error: ErrorPayload | null): string | null {
  const field = error?.field?.replace(/\[\d+\]$/, "") ?? null;
  if (!field || !(field in FIELD_LABELS)) return null;
  return SHOWN_AT[field] ?? field;
}

/** The error's sentence with the field's path replaced by its on-screen label (ErrorNotice does this for a notice). */
export function inWords(error: ErrorPayload): string {
  const field = error.field;
  if (!field) return error.message;
  const key = field.replace(/\[\d+\]$/, "");
  const label = FIELD_LABELS[key];
  return label ? error.message.split(field).join(label) : error.message;
}
