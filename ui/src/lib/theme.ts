import type { Theme } from "./bindings";

/** "system" leaves the choice to the prefers-color-scheme media query in app.css. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
}
