import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { MigrationEntry, SessionView } from "../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));

const { session } = await import("../lib/session.svelte");
const ResumeOffer = (await import("./ResumeOffer.svelte")).default;

const summary = (id: string, state: "running" | "completed") => ({
  id, wizard: "centralToHub", title: `Move ${id}`, state, createdAt: "2026-12-01T10:00:00Z", updatedAt: "2026-12-01T10:05:00Z", stepsDone: 3, stepsFailed: 0,
});
const entries: MigrationEntry[] = [
  { summary: summary("m-interrupted", "running"), runningHere: false },
  { summary: summary("m-here", "running"), runningHere: true },
  { summary: summary("m-done", "completed"), runningHere: false },
] as MigrationEntry[];
const account = { id: "a1", username: "ada@contoso.example", tenantId: "t", environment: "sandbox" };
const view = (signedIn: boolean) => ({ accounts: signedIn ? [account] : [], current: signedIn ? "a1" : null, keyringAvailable: true, keyringProblem: null, connections: [] }) as unknown as SessionView;

describe("ResumeOffer", () => {
  let signedIn: boolean;
  beforeEach(() => {
    invoke.mockReset();
    signedIn = false;
    session.view = null;
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "migration_list") return entries;
      if (cmd === "session_view") return view(signedIn);
      if (cmd === "sign_in") {
        signedIn = true;
        return account;
      }
      if (cmd === "migration_items") return { counts: {}, rows: [], total: 0 };
      return undefined;
    });
  });

  it("offers only the migration interrupted when the app closed", async () => {
    render(ResumeOffer);
    await waitFor(() => expect(screen.getByTestId("resume-offer").textContent).toContain("Move m-interrupted"));
    expect(screen.getByTestId("resume-offer").textContent).not.toContain("m-here");
    expect(screen.getByTestId("resume-offer").textContent).not.toContain("m-done");
  });

  it("signs in first when no account is signed in, then resumes", async () => {
    render(ResumeOffer);
    await waitFor(() => screen.getByTestId("resume-interrupted"));
    await fireEvent.click(screen.getByTestId("resume-interrupted"));
    await waitFor(() => expect(invoke.mock.calls.some(([cmd]) => cmd === "migration_resume")).toBe(true));
    const order = invoke.mock.calls.map(([cmd]) => cmd).filter((c) => c === "sign_in" || c === "migration_resume");
    expect(order).toEqual(["sign_in", "migration_resume"]);
    expect(invoke.mock.calls.find(([cmd]) => cmd === "migration_resume")?.[1]).toMatchObject({ id: "m-interrupted" });
    expect(location.hash).toBe("#/wizard/centralToHub/m-interrupted");
  });

  it("resumes at once when an account is signed in", async () => {
    signedIn = true;
    render(ResumeOffer);
    await waitFor(() => screen.getByTestId("resume-interrupted"));
    await fireEvent.click(screen.getByTestId("resume-interrupted"));
    await waitFor(() => expect(invoke.mock.calls.some(([cmd]) => cmd === "migration_resume")).toBe(true));
    expect(invoke.mock.calls.some(([cmd]) => cmd === "sign_in")).toBe(false);
  });
});
