import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (...args: unknown[]) => invoke(...args),
  Channel: class {
    onmessage: (m: unknown) => void = () => {};
  },
}));

const { api, toErrorPayload } = await import("./api");

describe("api", () => {
  beforeEach(() => invoke.mockReset());

  it("passes the shell's error payload through unchanged", async () => {
    const payload = { code: "settings.invalid", message: "redirectPort: Port 80 is reserved", detail: null, field: "redirectPort" };
    invoke.mockRejectedValueOnce(payload);
    await expect(api.getSettings()).rejects.toEqual(payload);
  });

  it("wraps a transport failure in an ipc.failed payload", async () => {
    invoke.mockRejectedValueOnce("window closed");
    await expect(api.listWizards()).rejects.toEqual({ code: "ipc.failed", message: "window closed", detail: null, field: null, requestId: null });
  });

  it("sends settings under the argument name the command declares", async () => {
    invoke.mockResolvedValueOnce({});
    const settings = { environment: "sandbox" } as never;
    await api.saveSettings(settings);
    expect(invoke).toHaveBeenCalledWith("save_settings", { settings });
  });

  it("streams start-up events through a channel passed as onEvent", async () => {
    invoke.mockImplementationOnce(async (_cmd: string, args: { onEvent: { onmessage: (m: unknown) => void } }) => {
      args.onEvent.onmessage({ event: "finished", passed: 4, warnings: 0, failed: 0 });
    });
    const events: unknown[] = [];
    await api.runStartupChecks((e) => events.push(e));
    expect(events).toEqual([{ event: "finished", passed: 4, warnings: 0, failed: 0 }]);
  });

  it("turns an Error into a readable payload", () => {
    expect(toErrorPayload(new Error("boom")).message).toBe("Error: boom");
  });
});
