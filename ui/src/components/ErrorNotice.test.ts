import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { ErrorPayload } from "../lib/bindings";
import ErrorNotice from "./ErrorNotice.svelte";

describe("ErrorNotice", () => {
  it("leads with the sentence and keeps the code to a small details line", () => {
    const error: ErrorPayload = {
      code: "centralToHub.empty_selection",
      message: "Nothing to move: the device group thermostats holds no device of the template Thermostat.",
      detail: null,
      field: "source.deviceGroups",
      requestId: "req-42",
    };
    render(ErrorNotice, { error });
    const alert = screen.getByRole("alert");
    expect(alert.querySelector("strong")?.textContent).toBe(error.message);
    expect(alert.querySelector("strong")?.textContent).not.toContain("centralToHub");
    const details = screen.getByTestId("error-details");
    expect(details.textContent).toContain("Details: centralToHub.empty_selection");
    expect(details.textContent).toContain("request ID req-42");
  });

  it("names a field by the label the page shows, not its path", () => {
    const error: ErrorPayload = {
      code: "migration.badPlan",
      message: "The plan cannot run: job.cancellationThresholdPercent: 150 is not between 0 (exclusive) and 100",
      detail: null,
      field: "job.cancellationThresholdPercent",
      requestId: null,
    };
    render(ErrorNotice, { error, fieldLabels: { "job.cancellationThresholdPercent": "Cancel when this % failed" } });
    const sentence = screen.getByRole("alert").querySelector("strong")?.textContent ?? "";
    expect(sentence).toBe("The plan cannot run: Cancel when this % failed: 150 is not between 0 (exclusive) and 100");
  });
});
