import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));

const ConnectionsSection = (await import("./ConnectionsSection.svelte")).default;

const PASTED = "HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=bm90LWEtcmVhbC1rZXk=";

describe("ConnectionsSection", () => {
  beforeEach(() => invoke.mockReset());

  it("hides what was pasted until asked to show it", async () => {
    render(ConnectionsSection);
    const secret = screen.getByLabelText("Secret") as HTMLInputElement;
    await fireEvent.input(secret, { target: { value: PASTED } });
    expect(secret.type).toBe("password");
    await fireEvent.click(screen.getByRole("button", { name: "Show" }));
    expect(secret.type).toBe("text");
    expect(secret.value).toBe(PASTED);
    await fireEvent.click(screen.getByRole("button", { name: "Hide" }));
    expect(secret.type).toBe("password");
  });

  it("says why the service refused the connection and keeps what was pasted to correct", async () => {
    invoke.mockImplementation(async (command: string) => {
      if (command !== "add_connection") return undefined;
      throw {
        code: "connections.key_refused",
        message: "contoso-hub.azure-devices.net refused the policy iothubowner's key (401): it is wrong, or it was regenerated since you copied it. Copy it again.",
      };
    });
    render(ConnectionsSection);
    const secret = screen.getByLabelText("Secret") as HTMLInputElement;
    await fireEvent.input(secret, { target: { value: PASTED } });
    await fireEvent.click(screen.getByRole("button", { name: "Add" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("refused the policy iothubowner's key");
    expect(invoke).toHaveBeenCalledWith("add_connection", expect.objectContaining({ kind: "iotHub", secret: PASTED }));
    await waitFor(() => expect((screen.getByRole("button", { name: "Add" }) as HTMLButtonElement).disabled).toBe(false));
    expect(secret.value).toBe(PASTED);
  });
});
