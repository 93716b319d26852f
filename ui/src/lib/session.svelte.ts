// Who is signed in, and the sign-in under way: the top bar, the sign-in dialog and the Account
// page read this one state.
import { api, toErrorPayload, type ErrorPayload } from "./api";
import type { Account, BrowserLaunch, SessionView, SignInProgress } from "./bindings";

export type SignInPhase = "idle" | "waiting" | "redeeming";

class Session {
  view = $state<SessionView | null>(null);
  phase = $state<SignInPhase>("idle");
  authorizeUrl = $state<string | null>(null);
  redirectUri = $state<string | null>(null);
  /** Whether the system browser opened on the sign-in page (the link is the way in when not). */
  browser = $state<BrowserLaunch | null>(null);
  deadline = $state<number | null>(null);
  error = $state<ErrorPayload | null>(null);
  dialogOpen = $state(false);

  current = $derived<Account | null>(this.view?.accounts.find((a) => a.id === this.view?.current) ?? null);

  async load(): Promise<void> {
    try {
      this.view = await api.sessionView();
    } catch (error) {
      this.error = toErrorPayload(error);
    }
  }

  onProgress(progress: SignInProgress): void {
    if (progress.kind === "waitingForBrowser") {
      this.phase = "waiting";
      this.authorizeUrl = progress.authorizeUrl;
      this.redirectUri = progress.redirectUri;
      this.browser = progress.browser;
      this.deadline = Date.now() + Number(progress.expiresInSeconds) * 1000;
    } else {
      this.phase = "redeeming";
    }
  }

  async signIn(): Promise<void> {
    this.error = null;
    this.dialogOpen = true;
    this.phase = "waiting";
    this.authorizeUrl = null;
    this.browser = null;
    try {
      await api.signIn((p) => this.onProgress(p));
      this.view = await api.sessionView();
      this.dialogOpen = false;
    } catch (error) {
      const payload = toErrorPayload(error);
      // Cancelling is the person's own choice, not an error to show.
      if (payload.code === "signin.cancelled") this.dialogOpen = false;
      else this.error = payload;
    } finally {
      this.phase = "idle";
    }
  }

  async cancel(): Promise<void> {
    await api.cancelSignIn();
    this.dialogOpen = false;
  }

  closeDialog(): void {
    this.dialogOpen = false;
    this.error = null;
  }

  async switchTo(id: string): Promise<void> {
    this.view = await api.switchAccount(id);
  }

  async signOut(id: string): Promise<void> {
    this.view = await api.signOut(id);
  }
}

export const session = new Session();
