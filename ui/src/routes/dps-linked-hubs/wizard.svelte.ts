// The DPS linked hubs wizard's own state (its step, the DPS picked, the change being written, the
// last dry run), kept across pages; and the page's arithmetic: how DPS would spread registrations
// over the linked hubs under its allocation policy, before and after the change.
import type { DpsLinkedHubsAction, DpsLinkedHubsDryRun, DpsLinkedHubsPlan, LinkedHubsView, WizardStep } from "../../lib/bindings";
import { migrations, type LiveMigration } from "../../lib/migration.svelte";

export type LinkedHubsStep = Exclude<WizardStep, "verify">;
export type ActionKind = DpsLinkedHubsAction["kind"];

/** A linked hub as the allocation sees it. */
export type Allocated = { host: string; weight: number; apply: boolean; location: string };

/** What each action is, as the person chooses it. */
export const ACTIONS: { id: ActionKind; title: string; detail: string }[] = [
  { id: "link", title: "Link a hub", detail: "Add a hub to the DPS, through a policy DPS can use, with its weight." },
  { id: "update", title: "Update a link", detail: "Change a linked hub's allocation weight or whether the policy applies to it." },
  { id: "unlink", title: "Unlink a hub", detail: "Remove a hub from the DPS; enrollments that name it are shown first." },
  { id: "rotateKeys", title: "Rotate keys", detail: "Renew the keys of the policy a link uses, with no moment devices cannot provision." },
];

/** A hub's name as people say it: ARM's name from `names` (by host), else its host's first label,
 *  else (the sandbox's `localhost:35049`) the whole host. */
export function labelOf(host: string, names: Record<string, string> = {}): string {
  const label = host.split(/[.:]/)[0];
  return names[host.toLowerCase()] ?? (label && label !== "localhost" ? label : host);
}

/** ARM's names of a view's linked hubs, by host. */
export function namesOf(view: LinkedHubsView | null): Record<string, string> {
  return Object.fromEntries((view?.hubs ?? []).map((h) => [h.host, h.name]));
}

/**
 * The share of registrations each hub would get, as DPS allocates among the hubs its policy applies
 * to: hashed spreads by weight; static sends every device to the first; geo latency sends a device
 * to the hub nearest it — for devices near the DPS, the hub in its region (else hashed).
 */
export function shares(hubs: Allocated[], policy: string, dpsLocation: string): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(hubs.map((h) => [h.host, 0]));
  const candidates = hubs.filter((h) => h.apply);
  if (!candidates.length) return out;
  const kind = policy.toLowerCase();
  const near = candidates.find((h) => h.location.toLowerCase() === dpsLocation.toLowerCase());
  if (kind === "static") {
    out[candidates[0].host] = 1;
  } else if (kind === "geolatency" && near) {
    out[near.host] = 1;
  } else {
    const total = candidates.reduce((n, h) => n + h.weight, 0);
    for (const h of candidates) out[h.host] = h.weight / total;
  }
  return out;
}

/** The linked hubs of a view, as the allocation sees them (a weight DPS does not hold is 1). */
export function fromView(view: LinkedHubsView): Allocated[] {
  return view.hubs.map((h) => ({ host: h.host, weight: h.allocationWeight, apply: h.applyAllocationPolicy, location: h.location }));
}

/** `properties.iotHubs` as the dry run shows it (keys masked), as the allocation sees it. */
export function fromJson(entries: unknown[]): Allocated[] {
  return (entries as { name?: string; location?: string; allocationWeight?: number; applyAllocationPolicy?: boolean }[]).map((e) => ({
    host: (e.name ?? "").toLowerCase(),
    weight: e.allocationWeight ?? 1,
    apply: e.applyAllocationPolicy ?? true,
    location: e.location ?? "",
  }));
}

/** The hubs as the change would leave them (`linking`: the host and region of the hub to link). */
export function afterChange(hubs: Allocated[], action: DpsLinkedHubsAction, linking?: { host: string; location: string }): Allocated[] {
  switch (action.kind) {
    case "link":
      return linking
        ? [...hubs, { host: linking.host.toLowerCase(), location: linking.location, weight: action.allocationWeight ?? 1, apply: action.applyAllocationPolicy ?? true }]
        : hubs;
    case "update":
      return hubs.map((h) =>
        h.host === action.host.toLowerCase()
          ? { ...h, weight: action.allocationWeight ?? h.weight, apply: action.applyAllocationPolicy ?? h.apply }
          : h,
      );
    case "unlink":
      return hubs.filter((h) => !action.hosts.some((x) => x.toLowerCase() === h.host));
    case "rotateKeys":
      return hubs;
  }
}

/** A weight the person typed: a whole number from 1 to 1000, or a sentence saying what is wrong. */
export function weightProblem(weight: number | null): string | null {
  if (weight === null) return null;
  return Number.isInteger(weight) && weight >= 1 && weight <= 1000 ? null : "A weight is a whole number from 1 to 1000.";
}

/** True when an unlink would edit enrollments that name the hub and the person has not allowed it. */
export function unlinkBlocked(dry: DpsLinkedHubsDryRun, action: DpsLinkedHubsAction): boolean {
  return action.kind === "unlink" && dry.pinned.length > 0 && !action.editEnrollments;
}

export function emptyAction(kind: ActionKind): DpsLinkedHubsAction {
  const none = { subscriptionId: "", resourceGroup: "", name: "" };
  switch (kind) {
    case "link":
      return { kind, hub: none, policy: "iothubowner", allocationWeight: null, applyAllocationPolicy: true };
    case "update":
      return { kind, host: "", allocationWeight: null, applyAllocationPolicy: null };
    case "unlink":
      return { kind, hosts: [], editEnrollments: false };
    case "rotateKeys":
      return { kind, hub: none, policy: "iothubowner", renewSecondary: true };
  }
}

class LinkedHubsWizard {
  step = $state<LinkedHubsStep>("plan");
  subscriptionId = $state("");
  plan = $state<DpsLinkedHubsPlan>({ dps: { subscriptionId: "", resourceGroup: "", name: "" }, action: emptyAction("update") });
  view = $state<LinkedHubsView | null>(null);
  dry = $state<DpsLinkedHubsDryRun | null>(null);
  /** The migration the wizard's pages show. */
  get live(): LiveMigration<"dpsLinkedHubs"> {
    return migrations.shownFor("dpsLinkedHubs");
  }
}

export const linkedHubs = new LinkedHubsWizard();
