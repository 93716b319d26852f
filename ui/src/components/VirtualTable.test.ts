import { fireEvent, render } from "@testing-library/svelte";
import { createRawSnippet } from "svelte";
import { describe, expect, it } from "vitest";
import VirtualTable from "./VirtualTable.svelte";

type Row = { id: string };
const row = createRawSnippet((r: () => Row) => ({ render: () => `<span class="cell">${r().id}</span>` }));
const rows: Row[] = Array.from({ length: 10_000 }, (_, i) => ({ id: `device-${String(i).padStart(5, "0")}` }));

describe("VirtualTable", () => {
  it("draws only the rows in view of 10,000, and the right ones after a scroll", async () => {
    const { container } = render(VirtualTable<Row>, { rows, columns: ["Device"], row, rowHeight: 30, height: 300 });
    const drawn = () => [...container.querySelectorAll(".cell")].map((c) => c.textContent);
    expect(drawn().length).toBeLessThan(40);
    expect(drawn()[0]).toBe("device-00000");
    const scroller = container.querySelector(".scroller")!;
    scroller.scrollTop = 30 * 5000;
    await fireEvent.scroll(scroller);
    expect(drawn().length).toBeLessThan(40);
    expect(drawn()).toContain("device-05000");
    expect(drawn()).not.toContain("device-00000");
    expect(container.querySelector("[data-rows]")!.getAttribute("data-rows")).toBe("10000");
  });
});
