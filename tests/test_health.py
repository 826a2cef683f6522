from fastapi.testclient import TestClient

from tests.support import make_org


def test_health_reports_registration_needed_until_an_organization_exists(
    client: TestClient, runtime
) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["results"]["requiresOrgRegistration"] is True
    assert body["results"]["isAuthenticated"] is False
    assert body["results"]["query"] == {
        "maxLimit": 5000,
        "defaultLimit": 500,
        "maxPageSize": 2500,
        "csvCellsLimit": 100000,
    }
    make_org(runtime, "Acme")
    assert client.get("/api/v1/health").json()["results"]["requiresOrgRegistration"] is False


def test_health_reports_feature_flags(make_client) -> None:
    off = make_client(SERVICE_ACCOUNT_ENABLED=False).get("/api/v1/health").json()["results"]
    assert off["isServiceAccountEnabled"] is False
    no_license = make_client(LIGHTDASH_LICENSE_KEY="").get("/api/v1/health").json()["results"]
    assert no_license["hasEnterpriseLicense"] is False
    assert no_license["isServiceAccountEnabled"] is False
    assert no_license["isCustomRolesEnabled"] is False


def test_health_knows_the_caller(client: TestClient, runtime) -> None:
    org = make_org(runtime, "Acme")
    response = client.get("/api/v1/health", headers=org.people["admin"].headers)
    assert response.json()["results"]["isAuthenticated"] is True
    assert response.headers["x-request-id"]


def test_unknown_route_is_a_404_in_the_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["name"] == "NotFoundError"
