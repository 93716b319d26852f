import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (...args: unknown[]) => invoke(...args),
  Channel: class {
    onmessage: (m: unknown) => void = () => {};
  },
}));

const { session } = await import("./session.svelte");

const ada = {
  id: "o.t@sandbox",
  username: "ada@contoso-sandbox.onmicrosoft.com",
  displayName: "Ada Lovelace",
  tenantId: "t",
  environment: "sandbox",
  clientId: "c",
  registration: "spa",
  redirectUri: "http://localhost:3000",
  sessionOnly: false,
  authority: "https://localhost:8443/",
};

describe("session", () => {
  beforeEach(() => {
    invoke.mockReset();
    session.view = null;
    session.error = null;
    session.dialogOpen = false;
  });

  it("shows the link while waiting, then the account once the browser came back", async () => {
    const seen: string[] = [];
    invoke.mockImplementation(async (cmd: string, args?: { onProgress?: { onmessage: (m: unknown) => void } }) => {
      if (cmd === "sign_in") {
        args!.onProgress!.onmessage({ kind: "waitingForBrowser", authorizeUrl: "https://localhost:1/authorize", redirectUri: "http://localhost:3000", expiresInSeconds: 300 });
        seen.push(`${session.phase} ${session.authorizeUrl}`);
        args!.onProgress!.onmessage({ kind: "redeeming" });
        seen.push(session.phase);
        return ada;
      }
      if (cmd === "session_view") return { accounts: [ada], current: ada.id, keyringAvailable: true, keyringProblem: null };
    });
    await session.signIn();
    expect(seen).toEqual(["waiting https://localhost:1/authorize", "redeeming"]);
    expect(session.current?.displayName).toBe("Ada Lovelace");
    expect(session.dialogOpen).toBe(false);
  });

  it("keeps the dialog open with Entra's explanation, but closes quietly when cancelled", async () => {
    invoke.mockRejectedValueOnce({ code: "signin.redirect_uri_mismatch", message: "The app registration does not list http://localhost:3000", detail: "Add it", field: null });
    await session.signIn();
    expect(session.dialogOpen).toBe(true);
    expect(session.error?.code).toBe("signin.redirect_uri_mismatch");
    invoke.mockRejectedValueOnce({ code: "signin.cancelled", message: "Sign-in was cancelled.", detail: null, field: null });
    await session.signIn();
    expect(session.dialogOpen).toBe(false);
    expect(session.error).toBeNull();
  });
});
