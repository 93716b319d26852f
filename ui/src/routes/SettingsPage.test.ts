import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Settings } from "../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));

const { app } = await import("../lib/app-state.svelte");
const SettingsPage = (await import("./SettingsPage.svelte")).default;

const settings: Settings = {
  environment: "sandbox",
  customProfilePath: null,
  tenant: "organizations",
  clientId: "",
  registration: "spa",
  redirectPort: 3000,
  logLevel: "info",
  theme: "system",
};

const appInfo = {
  versions: { app: "0.1.0", tauri: "2.12.5", webview: "2.50", os: "linux", arch: "x86_64" },
  dataDir: "/data",
  configDir: "/config",
  logDir: "/logs",
};

describe("SettingsPage", () => {
  beforeEach(() => {
    invoke.mockReset();
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "app_info") return appInfo;
      return undefined;
    });
    app.settings = { ...settings };
    app.environments = [
      { id: "sandbox", label: "Sandbox" },
      { id: "azurePublic", label: "Azure public" },
    ];
  });

  it("shows the shell's validation error and marks the field", async () => {
    render(SettingsPage);
    await waitFor(() => expect(screen.getByTestId("about").textContent).toContain("2.12.5"));
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "save_settings")
        throw { code: "settings.invalid", message: "redirectPort: Port 80 is reserved", detail: null, field: "redirectPort" };
    });
    const port = screen.getByLabelText("Redirect port") as HTMLInputElement;
    await fireEvent.input(port, { target: { value: "80" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Port 80 is reserved"));
    expect(port.getAttribute("aria-invalid")).toBe("true");
    expect(app.settings?.redirectPort).toBe(3000);
  });

  it("applies a chosen theme at once and keeps it without Save", async () => {
    render(SettingsPage);
    const saves: Settings[] = [];
    invoke.mockImplementation(async (cmd: string, args: { settings: Settings }) => {
      if (cmd === "save_settings") {
        saves.push(args.settings);
        return args.settings;
      }
    });
    await fireEvent.input(screen.getByLabelText("Tenant"), { target: { value: "contoso.onmicrosoft.com" } });
    await fireEvent.click(screen.getByLabelText("Dark"));
    expect(document.documentElement.dataset.theme).toBe("dark");
    await waitFor(() => expect(app.settings?.theme).toBe("dark"));
    // Only the theme was kept: the tenant being edited waits for Save.
    expect(saves).toEqual([{ ...settings, theme: "dark" }]);
    expect(app.settings?.tenant).toBe("organizations");
    expect((screen.getByTestId("save-settings") as HTMLButtonElement).disabled).toBe(false);
  });
});
