"""A device that can be moved: IoT Central (or any hub) to IoT Hub through DPS, by `DeviceMove`.

What the firmware of a device to be migrated with IoT Migrator (or Azure/iotc-migrator) must do, on
the official Python device SDK (azure-iot-device):

1. Provision through DPS with its ID scope, registration ID and symmetric key (the key derived from
   the enrollment group's key: HMAC-SHA256(group key, registration ID)), connect to the hub DPS
   assigns, and send telemetry.
2. Answer the synchronous `DeviceMove` command of the DeviceMigration interface
   (`dtmi:azureiot:DeviceMigration;1`), in either form Central sends it: on a component
   (method name `<component>*DeviceMove`) or on the root (`DeviceMove`); its request an object with
   `idScope` (and `dpsName`, `dpsId`, `centralAppName`, `centralAppSubdomain`, `deviceTemplateId`),
   or — as older tools sent it — the bare ID scope as a string. Answer 200 first, then:
3. Disconnect, register again with the new ID scope and the same registration ID and key, connect to
   the hub the new DPS assigns, and resume telemetry. If the new DPS refuses it, go back to the old
   scope, so a failed move never leaves the device offline.

Everything it needs comes from the environment (see README.md): nothing in this file changes between
the sandbox and Azure.
"""

import json
import logging
import os
import signal
import sys
import threading

from azure.iot.device import IoTHubDeviceClient, Message, MethodResponse, ProvisioningDeviceClient, ProxyOptions

log = logging.getLogger("device-move")


class Settings:
    """Connection settings: the device's identity, and how its network reaches Azure."""

    def __init__(self, env=os.environ):
        missing = [name for name in ("ID_SCOPE", "REGISTRATION_ID", "DEVICE_KEY") if not env.get(name)]
        if missing:
            raise SystemExit(f"set {', '.join(missing)} (see README.md)")
        self.id_scope = env["ID_SCOPE"]
        self.registration_id = env["REGISTRATION_ID"]
        self.key = env["DEVICE_KEY"]
        self.provisioning_host = env.get("PROVISIONING_HOST", "global.azure-devices-provisioning.net")
        self.model_id = env.get("MODEL_ID") or None
        self.interval = float(env.get("TELEMETRY_INTERVAL", "5"))
        # A network's own settings, none of them needed on the open internet: a gateway the device
        # connects through (IoT Edge, or the sandbox's one endpoint), an HTTP proxy, a private CA.
        self.gateway = env.get("GATEWAY_HOSTNAME") or None
        proxy = env.get("HTTPS_PROXY_ADDRESS")
        self.proxy = None
        if proxy:
            host, port = proxy.rsplit(":", 1)
            self.proxy = ProxyOptions("HTTP", host, int(port))
        ca_file = env.get("CA_CERT_FILE")
        self.ca = open(ca_file).read() if ca_file else None

    def network(self) -> dict:
        options = {}
        if self.proxy:
            options["proxy_options"] = self.proxy
        if self.ca:
            options["server_verification_cert"] = self.ca
        return options


def requested_scope(payload):
    """The new ID scope from a DeviceMove request: an object's `idScope`, or a bare string."""
    if isinstance(payload, str):
        # A string may also be a JSON object sent as text.
        try:
            decoded = json.loads(payload)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            payload = decoded
        else:
            return payload.strip() or None
    if isinstance(payload, dict):
        scope = payload.get("idScope")
        return scope.strip() if isinstance(scope, str) and scope.strip() else None
    return None


def is_device_move(method_name: str) -> bool:
    return method_name == "DeviceMove" or method_name.endswith("*DeviceMove")


class Device:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.scope = settings.id_scope
        self.client = None
        self.hub = None
        self.move_to = None
        self.wake = threading.Event()
        self.stopping = False
        self.sent = 0

    def provision(self, scope: str):
        registration = ProvisioningDeviceClient.create_from_symmetric_key(
            provisioning_host=self.settings.provisioning_host, registration_id=self.settings.registration_id,
            id_scope=scope, symmetric_key=self.settings.key, **self.settings.network())
        if self.settings.model_id:
            registration.provisioning_payload = {"modelId": self.settings.model_id}
        result = registration.register()
        if result.status != "assigned":
            raise RuntimeError(f"DPS of scope {scope} did not assign a hub: {result.status}")
        return result.registration_state.assigned_hub, result.registration_state.device_id

    def connect(self, scope: str):
        hub, device_id = self.provision(scope)
        options = self.settings.network()
        if self.settings.gateway:
            options["gateway_hostname"] = self.settings.gateway
        if self.settings.model_id:
            options["product_info"] = self.settings.model_id
        client = IoTHubDeviceClient.create_from_symmetric_key(symmetric_key=self.settings.key, hostname=hub, device_id=device_id, **options)
        client.connect()
        client.on_method_request_received = self.on_method
        self.client, self.hub, self.scope = client, hub, scope
        log.info("connected to %s as %s (ID scope %s)", hub, device_id, scope)
        print(f"CONNECTED hub={hub} scope={scope}", flush=True)

    def disconnect(self):
        if self.client:
            try:
                self.client.shutdown()
            except Exception as e:  # the connection may be gone already; nothing to undo
                log.warning("disconnecting: %s", e)
            self.client = None

    def on_method(self, request):
        if not is_device_move(request.name):
            self.client.send_method_response(MethodResponse.create_from_method_request(
                request, 501, {"result": False, "data": f"Method '{request.name}' is not implemented."}))
            return
        scope = requested_scope(request.payload)
        if not scope:
            self.client.send_method_response(MethodResponse.create_from_method_request(
                request, 400, {"result": False, "data": "The DeviceMove request carries no idScope."}))
            return
        # Answer first: the caller (a Central job) waits for this; the move happens after.
        self.client.send_method_response(MethodResponse.create_from_method_request(
            request, 200, {"result": True, "data": "Migration received. Disconnecting..."}))
        log.info("DeviceMove accepted: to ID scope %s", scope)
        print(f"MOVE scope={scope}", flush=True)
        self.move_to = scope
        self.wake.set()

    def move(self, scope: str):
        old = self.scope
        self.disconnect()
        try:
            self.connect(scope)
        except Exception as e:
            log.error("re-provisioning with ID scope %s failed (%s): back to %s", scope, e, old)
            print(f"MOVE-FAILED scope={scope}", flush=True)
            self.connect(old)

    def run(self):
        self.connect(self.scope)
        while not self.stopping:
            if self.move_to:
                scope, self.move_to = self.move_to, None
                self.move(scope)
            body = {"temperature": 20 + (self.sent % 10) / 2, "sequence": self.sent}
            self.client.send_message(Message(json.dumps(body), content_encoding="utf-8", content_type="application/json"))
            self.sent += 1
            print(f"TELEMETRY hub={self.hub} n={self.sent}", flush=True)
            self.wake.wait(self.settings.interval)
            self.wake.clear()
        self.disconnect()

    def stop(self, *_):
        self.stopping = True
        self.wake.set()


def main():
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    device = Device(Settings())
    signal.signal(signal.SIGTERM, device.stop)
    signal.signal(signal.SIGINT, device.stop)
    device.run()


if __name__ == "__main__":
    main()
