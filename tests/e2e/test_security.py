"""The window is locked down: only this app's commands, and no script the app did not ship."""

import pytest


def invoke(driver, command: str, args: dict | None = None) -> dict:
    """Calls a command the way the UI does and reports whether it was allowed."""
    return driver.execute_async_script(
        """
        const [command, args, done] = arguments;
        window.__TAURI_INTERNALS__.invoke(command, args)
          .then((value) => done({ ok: true, value }))
          .catch((error) => done({ ok: false, error: String(error?.message ?? JSON.stringify(error)) }));
        """,
        command,
        args or {},
    )


def test_the_apps_own_commands_are_allowed(driver):
    result = invoke(driver, "list_wizards")
    assert result["ok"], result
    assert len(result["value"]) == 5


@pytest.mark.parametrize(
    "command,args",
    [
        ("plugin:window|set_title", {"label": "main", "value": "pwned"}),
        ("plugin:webview|create_webview_window", {"options": {"label": "x", "url": "https://example.com"}}),
        ("plugin:event|emit", {"event": "x", "payload": None}),
        ("plugin:window-state|save_window_state", {"flags": 63}),
    ],
)
def test_plugin_and_core_commands_the_window_was_not_granted_are_refused(driver, command, args):
    result = invoke(driver, command, args)
    assert not result["ok"], f"{command} was allowed"
    assert "not allowed" in result["error"].lower(), result["error"]
    assert driver.title == "IoT Migrator"


def test_an_injected_inline_script_does_not_run(driver):
    ran = driver.execute_script(
        """
        window.__injected = false;
        const s = document.createElement("script");
        s.textContent = "window.__injected = true";
        document.body.appendChild(s);
        return window.__injected;
        """
    )
    assert ran is False
