// State the whole window shares: settings, the environments offered and the start-up checks.
import { api, toErrorPayload, type ErrorPayload } from "./api";
import type { CheckId, CheckStatus, EnvironmentOption, Settings, StartupEvent, Wizard } from "./bindings";
import { applyTheme } from "./theme";

export type CheckRow = { id: CheckId; label: string; status: CheckStatus | "pending"; detail: string | null };

class AppState {
  settings = $state<Settings | null>(null);
  environments = $state<EnvironmentOption[]>([]);
  wizards = $state<Wizard[]>([]);
  checks = $state<CheckRow[]>([]);
  checksDone = $state(false);
  loadError = $state<ErrorPayload | null>(null);

  environmentLabel = $derived(
    this.environments.find((e) => e.id === this.settings?.environment)?.label ?? "…",
  );
  environmentCheck = $derived(this.checks.find((c) => c.id === "environment"));

  async load(): Promise<void> {
    try {
      const [settings, environments, wizards] = await Promise.all([
        api.getSettings(),
        api.listEnvironments(),
        api.listWizards(),
      ]);
      this.settings = settings;
      this.environments = environments;
      this.wizards = wizards;
      applyTheme(settings.theme);
    } catch (error) {
      this.loadError = toErrorPayload(error);
    }
  }

  async save(next: Settings): Promise<Settings> {
    const saved = await api.saveSettings(next);
    const environmentChanged = saved.environment !== this.settings?.environment;
    this.settings = saved;
    applyTheme(saved.theme);
    if (environmentChanged) void this.runChecks();
    return saved;
  }

  onCheckEvent(event: StartupEvent): void {
    switch (event.event) {
      case "planned":
        this.checks = event.checks.map((c) => ({ ...c, status: "pending", detail: null }));
        break;
      case "update":
        this.checks = this.checks.map((c) => (c.id === event.id ? { ...c, status: event.status, detail: event.detail } : c));
        break;
      case "finished":
        this.checksDone = true;
        break;
    }
  }

  async runChecks(): Promise<void> {
    this.checksDone = false;
    try {
      await api.runStartupChecks((event) => this.onCheckEvent(event));
    } catch (error) {
      this.loadError = toErrorPayload(error);
      this.checksDone = true;
    }
  }
}

export const app = new AppState();
