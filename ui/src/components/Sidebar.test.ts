import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { Wizard } from "../lib/bindings";
import Sidebar from "./Sidebar.svelte";

const wizard = (id: Wizard["id"], title: string, available: boolean): Wizard => ({ id, title, summary: "", whatItDoes: [], steps: [], available });

describe("Sidebar", () => {
  it("marks the wizards the catalog says are not built yet, and only those", () => {
    const wizards = [wizard("centralToHub", "Central → Hub", true), wizard("hubState", "Hub state", false), wizard("dpsLinkedHubs", "DPS linked hubs", true)];
    render(Sidebar, { wizards, current: { page: "wizard", wizard: "centralToHub" } });
    const marked = (id: string) => document.querySelector(`[data-nav='${id}']`)!;
    expect(marked("hubState").querySelector("[data-testid='later-mark']")?.textContent).toBe("later");
    expect(marked("hubState").getAttribute("title")).toContain("later version");
    // A wizard that lands (available in the catalog) loses the mark with no change here.
    expect(marked("centralToHub").querySelector("[data-testid='later-mark']")).toBeNull();
    expect(marked("dpsLinkedHubs").querySelector("[data-testid='later-mark']")).toBeNull();
    expect(screen.getAllByTestId("later-mark")).toHaveLength(1);
  });
});
