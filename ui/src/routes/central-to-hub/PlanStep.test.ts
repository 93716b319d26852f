import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ErrorPayload, SessionView, SourceOptions, TargetOptions } from "../../lib/bindings";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a), Channel: class {} }));
const { session } = await import("../../lib/session.svelte");
const { c2h, emptyPlan } = await import("./wizard.svelte");
const PlanStep = (await import("./PlanStep.svelte")).default;

const THERMOSTAT = "dtmi:contoso:Thermostat;1";
const source: SourceOptions = {
  templates: [
    {
      id: THERMOSTAT,
      displayName: "Thermostat",
      deviceMove: { templateId: THERMOSTAT, component: null, path: "DeviceMove", payload: "idScopeString" } as never,
      problem: null,
      problemCode: null,
      proposedDpsGroupId: "contoso-fleet-thermostat-v1",
    },
    { id: "dtmi:contoso:Legacy;1", displayName: "Legacy sensor", deviceMove: null, problem: "No DeviceMove", problemCode: "x", proposedDpsGroupId: "contoso-fleet-legacy-v1" },
  ],
  deviceGroups: [
    { id: "thermostats", displayName: "Thermostats", filter: `SELECT * FROM devices WHERE $template = "${THERMOSTAT}"`, template: THERMOSTAT },
    { id: "legacy", displayName: "Legacy sensors", filter: 'SELECT * FROM devices WHERE $template = "dtmi:contoso:Legacy;1"', template: "dtmi:contoso:Legacy;1" },
  ],
  enrollmentGroups: [{ id: "sas-iot-devices", displayName: "SAS IoT devices", kind: "iot", attestation: "symmetricKey" }],
};
const hub = { name: "contoso-hub-neu", resourceGroup: "rg-iot-prod", location: "northeurope", hostName: "contoso-hub-neu.azure-devices.net", sku: "S1×1" };
const dps = { name: "contoso-dps", resourceGroup: "rg-iot-prod", location: "northeurope", idScope: "0ne0001", allocationPolicy: "Hashed", linkedHubs: [hub.hostName] };
const targetWith = (withDps: boolean): TargetOptions => ({
  dps: withDps ? [dps] : [],
  hubs: [hub],
  resourceGroups: [
    { name: "rg-iot-prod", location: "northeurope" },
    { name: "rg-west", location: "westeurope" },
  ],
  locations: [
    { name: "northeurope", displayName: "North Europe" },
    { name: "westeurope", displayName: "West Europe" },
  ],
});
const view: SessionView = {
  accounts: [
    {
      id: "a1",
      username: "ada@contoso.com",
      displayName: "Ada",
      tenantId: "t",
      environment: "sandbox",
      clientId: "c",
      registration: "spa",
      redirectUri: "http://localhost:3000",
      sessionOnly: false,
      authority: "https://login",
    },
  ],
  current: "a1",
  keyringAvailable: true,
  keyringProblem: null,
  connections: [],
};

function answer(target: TargetOptions) {
  invoke.mockImplementation(async (command: string, args: Record<string, string>) => {
    if (command === "list_central_apps") return [];
    if (command === "list_subscriptions") return [{ id: "sub-prod", name: "Production", state: "Enabled" }];
    if (command === "c2h_source_options") return source;
    if (command === "c2h_target_options") return target;
    if (command === "c2h_create_dps") return { ...dps, name: args.name, resourceGroup: args.resourceGroup, location: args.location };
    return null;
  });
}

function start(props: { error?: ErrorPayload | null } = {}) {
  c2h.plan = emptyPlan();
  c2h.plan.source.subdomain = "contoso-fleet";
  c2h.plan.target.subscriptionId = "sub-prod";
  return render(PlanStep, { plan: c2h.plan, onDryRun: () => {}, ...props });
}

describe("PlanStep", () => {
  beforeEach(() => {
    invoke.mockReset();
    session.view = view;
  });

  it("says a subscription has no DPS and offers a Create form with labelled pickers from ARM", async () => {
    answer(targetWith(false));
    start();
    const empty = await screen.findByTestId("no-dps");
    expect(empty.textContent).toContain("no Device Provisioning Service");
    await fireEvent.click(screen.getByTestId("create-dps-open"));
    const group = screen.getByLabelText("Resource group") as HTMLSelectElement;
    const region = screen.getByLabelText("Region") as HTMLSelectElement;
    expect([...group.options].map((o) => o.value)).toEqual(["rg-iot-prod", "rg-west"]);
    expect([...region.options].map((o) => o.value)).toEqual(["northeurope", "westeurope"]);
    expect(group.value).toBe("rg-iot-prod");
    // The region follows the group's until the person picks one.
    await fireEvent.change(group, { target: { value: "rg-west" } });
    expect(region.value).toBe("westeurope");
    await fireEvent.input(screen.getByLabelText("Name"), { target: { value: "contoso-dps-2" } });
    await fireEvent.click(screen.getByTestId("create-dps-submit"));
    await waitFor(() =>
      expect(invoke).toHaveBeenCalledWith("c2h_create_dps", { subscriptionId: "sub-prod", resourceGroup: "rg-west", name: "contoso-dps-2", location: "westeurope" }),
    );
  });

  it("names Central's enrollment groups in words, not their codes", async () => {
    answer(targetWith(true));
    start();
    const group = (await screen.findByTestId("central-group")) as HTMLSelectElement;
    expect(group.options[0].textContent).toBe("SAS IoT devices (IoT devices, symmetric keys)");
  });

  it("shows a device group of another template disabled, with why", async () => {
    answer(targetWith(true));
    start();
    const groups = await screen.findByTestId("device-groups");
    const [thermostats, legacy] = [...groups.querySelectorAll("li")];
    expect((thermostats.querySelector("input") as HTMLInputElement).disabled).toBe(false);
    expect((legacy.querySelector("input") as HTMLInputElement).disabled).toBe(true);
    expect(legacy.textContent).toContain("Holds devices of Legacy sensor, not of the chosen template");
  });

  it("proposes an enrollment group name of the app and template, not one shared by every plan", async () => {
    answer(targetWith(true));
    start();
    const name = (await screen.findByTestId("dps-group")) as HTMLInputElement;
    await waitFor(() => expect(name.value).toBe("contoso-fleet-thermostat-v1"));
    expect(c2h.plan.enrollment.dpsGroupId).toBe("contoso-fleet-thermostat-v1");
  });

  it("keeps a name the person wrote when the template changes", async () => {
    answer(targetWith(true));
    start();
    const name = (await screen.findByTestId("dps-group")) as HTMLInputElement;
    await waitFor(() => expect(name.value).toBe("contoso-fleet-thermostat-v1"));
    await fireEvent.input(name, { target: { value: "my-own-group" } });
    expect(c2h.plan.enrollment.dpsGroupId).toBe("my-own-group");
  });

  it("shows a dry run's clash beside the Dry run button and on the enrollment group field", async () => {
    answer(targetWith(true));
    const clash: ErrorPayload = {
      code: "centralToHub.enrollment_clash",
      message: "The DPS contoso-dps already has an enrollment group contoso-fleet-thermostat-v1 with other symmetric keys. Choose another group name in the plan.",
      detail: null,
      field: "enrollment.dpsGroupId",
      requestId: null,
    };
    const { rerender } = start();
    const input = (await screen.findByTestId("dps-group")) as HTMLInputElement;
    await waitFor(() => expect(input.value).toBe("contoso-fleet-thermostat-v1"));
    await rerender({ error: clash });
    await waitFor(() => expect(input.getAttribute("aria-invalid")).toBe("true"));
    expect(document.querySelector("[data-field='enrollment.dpsGroupId']")?.textContent).toContain("Choose another group name");
    const notice = screen.getByTestId("dry-run-error");
    // Beside the button the person just pressed, after it on the page, not at the top.
    expect(screen.getByTestId("to-dry-run").compareDocumentPosition(notice) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.getByTestId("source").compareDocumentPosition(notice) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // Once the person changes the name, the field no longer says it clashes.
    await fireEvent.input(input, { target: { value: "contoso-fleet-thermostat-v2" } });
    await waitFor(() => expect(input.getAttribute("aria-invalid")).toBe("false"));
    expect(document.querySelector("[data-field='enrollment.dpsGroupId']")).toBeNull();
  });

  it("names a refused field by its label, not its path", async () => {
    answer(targetWith(true));
    const bad: ErrorPayload = {
      code: "migration.badPlan",
      message: "The plan cannot run: job.cancellationThresholdPercent: 150 is not between 0 (exclusive) and 100",
      detail: null,
      field: "job.cancellationThresholdPercent",
      requestId: null,
    };
    start({ error: bad });
    const notice = await screen.findByTestId("dry-run-error");
    expect(notice.textContent).toContain("Cancel when this % failed: 150 is not between");
    expect(notice.querySelector("strong")?.textContent).not.toContain("job.cancellationThresholdPercent");
    expect(screen.getByTestId("cancel-percent").getAttribute("aria-invalid")).toBe("true");
  });

  it("refuses a batch of 0 devices on the field and keeps the dry run closed", async () => {
    answer(targetWith(true));
    start();
    c2h.plan.source.deviceGroups = ["thermostats"];
    c2h.plan.target.resourceGroup = "rg-iot-prod";
    c2h.plan.target.dpsName = "contoso-dps";
    c2h.plan.target.hubName = "contoso-hub-neu";
    const button = (await screen.findByTestId("to-dry-run")) as HTMLButtonElement;
    await waitFor(() => expect(button.disabled).toBe(false));
    await fireEvent.input(screen.getByTestId("batch-size"), { target: { value: "0" } });
    expect(button.disabled).toBe(true);
    expect(document.querySelector("[data-field='job.batchSize']")?.textContent).toContain("at least 1 device");
    expect(screen.getByTestId("batch-size").getAttribute("aria-invalid")).toBe("true");
    await fireEvent.input(screen.getByTestId("batch-size"), { target: { value: "50" } });
    expect(button.disabled).toBe(false);
  });
});
