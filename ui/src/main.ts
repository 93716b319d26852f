import { mount } from "svelte";
import App from "./App.svelte";
import { api } from "./lib/api";
import "./app.css";

const app = mount(App, { target: document.getElementById("app")! });

// Two frames after mounting the first one is on screen: tell the shell (the start-up benchmark
// measures to this point).
requestAnimationFrame(() => requestAnimationFrame(() => void api.uiReady().catch(() => {})));

export default app;
