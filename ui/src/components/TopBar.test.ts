import { render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", () => ({ invoke: async () => null, Channel: class {} }));
const { app } = await import("../lib/app-state.svelte");
const TopBar = (await import("./TopBar.svelte")).default;

const settings = {
  environment: "sandbox" as const,
  customProfilePath: null,
  tenant: "organizations",
  clientId: "",
  registration: "spa" as const,
  redirectPort: 3000,
  logLevel: "info" as const,
  theme: "system" as const,
};

describe("TopBar", () => {
  it("explains the Sandbox pill: a simulated cloud where nothing real changes", () => {
    app.settings = { ...settings };
    app.environments = [
      { id: "sandbox", label: "Sandbox" },
      { id: "azurePublic", label: "Azure public" },
    ];
    render(TopBar, { title: "Central → Hub" });
    expect(screen.getByTestId("environment-pill").getAttribute("title")).toMatch(/^Sandbox: a simulated cloud on this computer — nothing real changes\./);
  });

  it("does not call a real cloud simulated", () => {
    app.settings = { ...settings, environment: "azurePublic" };
    render(TopBar, { title: "Central → Hub" });
    expect(screen.getByTestId("environment-pill").getAttribute("title")).not.toContain("simulated");
  });
});
