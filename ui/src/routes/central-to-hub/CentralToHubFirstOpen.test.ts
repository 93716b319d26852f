import { render, screen } from "@testing-library/svelte";
import { expect, it, vi } from "vitest";
import type { Wizard } from "../../lib/bindings";

// A file of its own: the window's live migrations start empty here, as when the app opens.
const invoke = vi.fn(async () => null);
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...(a as [])), Channel: class {} }));
const CentralToHubPage = (await import("./CentralToHubPage.svelte")).default;

const wizard: Wizard = { id: "centralToHub", title: "Central → Hub", summary: "Move devices.", whatItDoes: [], steps: ["plan", "dryRun", "run", "verify", "report"], available: true };

it("opens on its plan the first time, before any migration was shown", () => {
  render(CentralToHubPage, { wizard });
  expect(screen.getByRole("heading", { name: "Central → Hub" })).toBeTruthy();
  expect(screen.getByRole("list", { name: "Steps" })).toBeTruthy();
});
