import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));

const { app } = await import("../lib/app-state.svelte");
const SettingsPage = (await import("./SettingsPage.svelte")).default;

describe("Reset the sandbox", () => {
  beforeEach(() => {
    invoke.mockReset();
    invoke.mockResolvedValue(undefined);
    app.settings = null;
  });

  it("asks first, naming what is lost, and resets only when confirmed", async () => {
    render(SettingsPage);
    await fireEvent.click(screen.getByTestId("reset-sandbox"));
    const confirm = (screen.getByTestId("reset-confirm").textContent ?? "").replace(/\s+/g, " ");
    for (const lost of ["built-in scenario", "enrollment groups", "Central jobs", "devices already moved", "ID scopes and keys", "can no longer be resumed", "sign in"])
      expect(confirm).toContain(lost);
    expect(invoke).not.toHaveBeenCalledWith("sandbox_reset", expect.anything());

    await fireEvent.click(screen.getByText("Cancel"));
    expect(screen.queryByTestId("reset-confirm")).toBeNull();
    expect(invoke.mock.calls.some(([cmd]) => cmd === "sandbox_reset")).toBe(false);

    await fireEvent.click(screen.getByTestId("reset-sandbox"));
    await fireEvent.click(screen.getByTestId("reset-sandbox-confirm"));
    await waitFor(() => expect(screen.getByTestId("reset-done")).toBeTruthy());
    expect(invoke.mock.calls.filter(([cmd]) => cmd === "sandbox_reset")).toHaveLength(1);
  });

  it("says why when a migration is running", async () => {
    render(SettingsPage);
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "sandbox_reset") throw { code: "sandbox.migration_running", message: "1 migration(s) are running: stop them", detail: null, field: null };
    });
    await fireEvent.click(screen.getByTestId("reset-sandbox"));
    await fireEvent.click(screen.getByTestId("reset-sandbox-confirm"));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("are running"));
    expect(screen.queryByTestId("reset-done")).toBeNull();
  });
});
