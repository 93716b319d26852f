// A hash router: the window has one page at a time and deep links are not needed across launches.
import type { WizardId } from "./bindings";

export type Route = { page: "wizard"; wizard: WizardId; migration?: string } | { page: "jobs" } | { page: "settings" } | { page: "account" };

const WIZARD_IDS: WizardId[] = ["centralToHub", "hubState", "bulkIdentities", "dpsLinkedHubs", "iotOperationsClone"];
export const DEFAULT_ROUTE: Route = { page: "wizard", wizard: "centralToHub" };

export function parseRoute(hash: string): Route {
  const [, page, id] = hash.replace(/^#/, "").split("/");
  if (page === "jobs") return { page: "jobs" };
  if (page === "settings") return { page: "settings" };
  if (page === "account") return { page: "account" };
  const [, , , migration] = hash.replace(/^#/, "").split("/");
  if (page === "wizard" && WIZARD_IDS.includes(id as WizardId)) return migration ? { page: "wizard", wizard: id as WizardId, migration } : { page: "wizard", wizard: id as WizardId };
  return DEFAULT_ROUTE;
}

export function routeHref(route: Route): string {
  return route.page === "wizard" ? `#/wizard/${route.wizard}` : `#/${route.page}`;
}

class Router {
  current = $state<Route>(parseRoute(typeof location === "undefined" ? "" : location.hash));

  constructor() {
    if (typeof window !== "undefined") {
      window.addEventListener("hashchange", () => (this.current = parseRoute(location.hash)));
    }
  }
}

export const router = new Router();
