"""X.509 attestation through DPS, as Central's X.509 groups move: an enrollment group carrying a CA
(signing) certificate, and devices whose certificates that CA issued registering with them — over
HTTPS (requests with a client certificate) and over MQTT with the official device SDK's
create_from_x509_certificate — landing in the hub with CA authentication. A certificate from
another CA, or whose common name is not the registration ID, is refused."""

import datetime
import time

import pytest
import requests
from azure.iot.device import ProvisioningDeviceClient, ProxyOptions, X509
from azure.iot.device.exceptions import CredentialError
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import arm_view
from swagger import validate

SERVICE_SPEC = "specification/deviceprovisioningservices/data-plane/Microsoft.Devices/stable/2021-10-01/service.json"


def issue(common_name: str, issuer=None, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer[0].subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                                      key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key


def write(tmp_path, name, cert, key):
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_file), str(key_file)


@pytest.fixture
def x509_group(sandbox, fresh_scenario):
    target = arm_view(sandbox)
    ca = issue("Contoso Devices CA", ca=True)
    pem = ca[0].public_bytes(serialization.Encoding.PEM).decode()
    group = DeviceProvisioningClient.from_connection_string(target["dps_cs"]).enrollment_group.create_or_update("x509-devices", {
        "enrollmentGroupId": "x509-devices", "attestation": {"type": "x509", "x509": {"signingCertificates": {"primary": {"certificate": pem}}}}})
    return target, ca, group


def register_https(target, registration_id, cert_files):
    url = f"https://{target['dps_host']}/{target['id_scope']}/registrations/{registration_id}"
    started = requests.put(f"{url}/register?api-version=2021-06-01", json={"registrationId": registration_id}, cert=cert_files, timeout=10)
    if started.status_code != 202:
        return started
    time.sleep(0.2)
    return requests.get(f"{url}/operations/{started.json()['operationId']}?api-version=2021-06-01", cert=cert_files, timeout=10)


def test_the_group_reports_its_signing_certificate(x509_group):
    _, ca, group = x509_group
    validate(SERVICE_SPEC, "/enrollmentGroups/{id}", "put", 200, group)
    info = group["attestation"]["x509"]["signingCertificates"]["primary"]["info"]
    assert info["subjectName"] == "CN=Contoso Devices CA"
    assert info["sha256Thumbprint"] == ca[0].fingerprint(hashes.SHA256()).hex().upper()
    assert info["sha1Thumbprint"] == ca[0].fingerprint(hashes.SHA1()).hex().upper()


def test_a_device_certificate_the_ca_issued_registers_over_https(x509_group, tmp_path):
    target, ca, _ = x509_group
    files = write(tmp_path, "x509-thermostat-1", *issue("x509-thermostat-1", issuer=ca))
    status = register_https(target, "x509-thermostat-1", files)
    assert status.status_code == 200, status.text
    assert status.json()["registrationState"]["assignedHub"] == target["hub_host"]
    device = IoTHubRegistryManager.from_connection_string(target["hub_cs"]).get_device("x509-thermostat-1")
    assert device.authentication.type == "certificateAuthority"


def test_the_device_sdk_registers_with_its_certificate_over_mqtt(sandbox, x509_group, tmp_path):
    target, ca, _ = x509_group
    cert_file, key_file = write(tmp_path, "x509-thermostat-2", *issue("x509-thermostat-2", issuer=ca))
    client = ProvisioningDeviceClient.create_from_x509_certificate(
        provisioning_host="localhost", registration_id="x509-thermostat-2", id_scope=target["id_scope"], x509=X509(cert_file, key_file),
        proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port), server_verification_cert=open(sandbox.ca_cert).read())
    result = client.register()
    assert result.status == "assigned" and result.registration_state.assigned_hub == target["hub_host"]


def test_a_certificate_from_another_ca_or_for_another_name_is_refused(sandbox, x509_group, tmp_path):
    target, ca, _ = x509_group
    stranger = issue("x509-intruder", issuer=issue("Someone Else CA", ca=True))
    refused = register_https(target, "x509-intruder", write(tmp_path, "intruder", *stranger))
    assert refused.status_code == 401 and refused.json()["errorCode"] == 401002
    misnamed = register_https(target, "x509-thermostat-9", write(tmp_path, "misnamed", *issue("x509-thermostat-3", issuer=ca)))
    assert misnamed.status_code == 401 and "common name" in misnamed.json()["message"]
    cert_file, key_file = write(tmp_path, "mqtt-intruder", *stranger)
    with pytest.raises(CredentialError):
        ProvisioningDeviceClient.create_from_x509_certificate(
            provisioning_host="localhost", registration_id="x509-intruder", id_scope=target["id_scope"], x509=X509(cert_file, key_file),
            proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port), server_verification_cert=open(sandbox.ca_cert).read()).register()


def test_an_individual_x509_enrollment_takes_exactly_its_own_certificate(sandbox, fresh_scenario, tmp_path):
    target = arm_view(sandbox)
    own = issue("x509-solo-1")  # self-signed, as individually enrolled devices often are
    pem = own[0].public_bytes(serialization.Encoding.PEM).decode()
    DeviceProvisioningClient.from_connection_string(target["dps_cs"]).enrollment.create_or_update("x509-solo-1", {
        "registrationId": "x509-solo-1", "attestation": {"type": "x509", "x509": {"clientCertificates": {"primary": {"certificate": pem}}}}})
    status = register_https(target, "x509-solo-1", write(tmp_path, "solo", *own))
    assert status.status_code == 200 and status.json()["registrationState"]["status"] == "assigned", status.text
    device = IoTHubRegistryManager.from_connection_string(target["hub_cs"]).get_device("x509-solo-1")
    assert device.authentication.type == "selfSigned"
    assert device.authentication.x509_thumbprint.primary_thumbprint == own[0].fingerprint(hashes.SHA1()).hex().upper()
    other = register_https(target, "x509-solo-1", write(tmp_path, "other", *issue("x509-solo-1")))
    assert other.status_code == 401 and "individual enrollment" in other.json()["message"]
