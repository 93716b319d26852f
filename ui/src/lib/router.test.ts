import { describe, expect, it } from "vitest";
import { DEFAULT_ROUTE, parseRoute, routeHref } from "./router.svelte";

describe("router", () => {
  it("opens the Central → Hub wizard when there is no hash", () => {
    expect(parseRoute("")).toEqual(DEFAULT_ROUTE);
    expect(DEFAULT_ROUTE).toEqual({ page: "wizard", wizard: "centralToHub" });
  });

  it("round-trips every page through its href", () => {
    for (const hash of ["#/jobs", "#/settings", "#/wizard/hubState", "#/wizard/iotOperationsClone"]) {
      expect(routeHref(parseRoute(hash))).toBe(hash);
    }
  });

  it("falls back to the default for an unknown wizard", () => {
    expect(parseRoute("#/wizard/nope")).toEqual(DEFAULT_ROUTE);
  });
});
