import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));

const CloseConfirm = (await import("./CloseConfirm.svelte")).default;

/** What the shell does when the window is closed while `running` migrations run. */
function closeRequested(running: number) {
  const call = invoke.mock.calls.find(([cmd]) => cmd === "close_requests");
  (call?.[1] as { onRequest: { onmessage: (n: number) => void } }).onRequest.onmessage(running);
}

describe("CloseConfirm", () => {
  beforeEach(() => {
    invoke.mockReset();
    invoke.mockResolvedValue(undefined);
  });

  it("asks before closing while a migration runs, saying it will resume", async () => {
    render(CloseConfirm);
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("close_requests", expect.anything()));
    expect(screen.queryByTestId("close-confirm")).toBeNull();
    closeRequested(1);
    const dialog = await screen.findByTestId("close-confirm");
    expect(dialog.textContent?.replace(/\s+/g, " ")).toContain("A migration is running; it will resume when you reopen the app.");
    await fireEvent.click(screen.getByText("Keep working"));
    expect(screen.queryByTestId("close-confirm")).toBeNull();
    expect(invoke.mock.calls.some(([cmd]) => cmd === "close_confirmed")).toBe(false);
  });

  it("closes when the person confirms", async () => {
    render(CloseConfirm);
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("close_requests", expect.anything()));
    closeRequested(2);
    expect((await screen.findByTestId("close-confirm")).textContent).toContain("2 migrations are running");
    await fireEvent.click(screen.getByTestId("close-confirm-yes"));
    expect(invoke.mock.calls.filter(([cmd]) => cmd === "close_confirmed")).toHaveLength(1);
  });
});
