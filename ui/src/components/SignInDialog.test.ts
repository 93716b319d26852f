import { fireEvent, render } from "@testing-library/svelte";
import { flushSync } from "svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { BrowserLaunch } from "../lib/bindings";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn(), Channel: class {} }));

const { session } = await import("../lib/session.svelte");
const SignInDialog = (await import("./SignInDialog.svelte")).default;

const link = "http://localhost:41234/organizations/oauth2/v2.0/authorize?client_id=c&code_challenge=x";

function waiting(browser: BrowserLaunch) {
  session.dialogOpen = true;
  session.error = null;
  session.onProgress({ kind: "waitingForBrowser", authorizeUrl: link, redirectUri: "http://localhost:3000", expiresInSeconds: 300, browser });
  flushSync();
}

describe("SignInDialog", () => {
  beforeEach(() => {
    session.dialogOpen = false;
    session.browser = null;
  });

  it("says the browser opened only when it did, and still offers the link", () => {
    const { getByTestId, queryByTestId } = render(SignInDialog);
    waiting({ state: "opened" });
    expect(getByTestId("browser-opened").textContent).toContain("Your browser has opened the sign-in page");
    expect(queryByTestId("browser-not-opened")).toBeNull();
    expect((getByTestId("sign-in-link") as HTMLInputElement).value).toBe(link);
    expect(getByTestId("copy-sign-in-link").classList.contains("primary")).toBe(false);
  });

  it("says plainly that no browser opened, and makes copying the link the main path", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const { getByTestId, queryByTestId, container } = render(SignInDialog);
    waiting({ state: "notOpened", reason: "xdg-open found no default web browser" });
    expect(queryByTestId("browser-opened")).toBeNull();
    expect(container.textContent).not.toContain("has opened");
    const warning = getByTestId("browser-not-opened").textContent!;
    expect(warning).toContain("Your browser did not open.");
    expect(warning).toContain("xdg-open found no default web browser");
    expect((getByTestId("sign-in-link") as HTMLInputElement).value).toBe(link);
    const copy = getByTestId("copy-sign-in-link");
    expect(copy.classList.contains("primary")).toBe(true);
    await fireEvent.click(copy);
    expect(writeText).toHaveBeenCalledWith(link);
    expect(container.textContent).toContain("Copied.");
  });

  it("selects the link for Ctrl+C when the clipboard cannot be written", async () => {
    Object.defineProperty(navigator, "clipboard", { value: { writeText: vi.fn().mockRejectedValue(new Error("denied")) }, configurable: true });
    const { getByTestId, container } = render(SignInDialog);
    waiting({ state: "notOpened", reason: "xdg-open is not installed" });
    await fireEvent.click(getByTestId("copy-sign-in-link"));
    await vi.waitFor(() => expect(container.textContent).toContain("press Ctrl+C"));
    const field = getByTestId("sign-in-link") as HTMLInputElement;
    expect(document.activeElement).toBe(field);
    expect(field.value.slice(field.selectionStart!, field.selectionEnd!)).toBe(link);
  });
});
