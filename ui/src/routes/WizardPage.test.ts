import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { Wizard } from "../lib/bindings";
import WizardPage from "./WizardPage.svelte";

const wizard: Wizard = {
  id: "hubState",
  title: "Hub state",
  summary: "Export, import or migrate an IoT hub.",
  whatItDoes: ["Export everything.", "Import it elsewhere."],
  steps: ["plan", "dryRun", "run", "verify", "report"],
  available: false,
};

describe("WizardPage", () => {
  it("shows the five steps and says plainly that the wizard is not built", () => {
    render(WizardPage, { wizard });
    expect(screen.getByRole("heading", { name: "Hub state" })).toBeTruthy();
    const steps = screen.getByRole("list", { name: "Steps" }).textContent ?? "";
    for (const label of ["Plan", "Dry run", "Run", "Verify", "Report"]) expect(steps).toContain(label);
    expect(screen.getByText("Coming in a later version")).toBeTruthy();
    expect(screen.getByText("Import it elsewhere.")).toBeTruthy();
  });

  it("does not show the notice once a wizard is available", () => {
    render(WizardPage, { wizard: { ...wizard, available: true } });
    expect(screen.queryByText("Coming in a later version")).toBeNull();
  });
});
