"""The API client's building blocks, in process: headers, gzip, envelope and error mapping,
configuration precedence and the config file, `--expires`, and the YAML content files.

(The commands themselves are tested as subprocesses against a real server in
test_client_cli.py.) No database: these tests run once.
"""

from __future__ import annotations

import gzip
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lightkeeper.client.commands.service_accounts import parse_expires
from lightkeeper.client.config import (
    ConfigError,
    SavedConfig,
    Source,
    config_path,
    load_config,
    normalize_url,
    resolve,
    save_config,
)
from lightkeeper.client.content_files import (
    CONTENT_HASH,
    ContentFileError,
    Kind,
    read_document,
    write_document,
)
from lightkeeper.client.http import EXIT_UNREACHABLE, ApiClient, ApiError, CliError, auth_header
from lightkeeper.client.output import UsageError

SA = "ldsvc_" + "a" * 38
PAT = "ldpat_" + "b" * 38


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LIGHTDASH_URL", "LIGHTDASH_API_KEY", "LIGHTDASH_PROJECT", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def recording_client(
    token: str, answer: httpx.Response | None = None, **kwargs: Any
) -> tuple[ApiClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer or httpx.Response(200, json={"status": "ok", "results": {"n": 1}})

    client = ApiClient("http://lk.test", token, transport=httpx.MockTransport(handler), **kwargs)
    return client, seen


# -- headers and bodies ------------------------------------------------------------


def test_the_token_prefix_decides_the_scheme() -> None:
    assert auth_header(SA) == f"Bearer {SA}"
    assert auth_header(PAT) == f"ApiKey {PAT}"
    assert auth_header("anything-else") == "ApiKey anything-else"


@pytest.mark.parametrize(("ci", "kind"), [(None, "CLI"), ("true", "CLI_CI"), ("false", "CLI")])
def test_request_headers(monkeypatch: pytest.MonkeyPatch, ci: str | None, kind: str) -> None:
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    client, seen = recording_client(SA)
    assert client.get("/api/v1/user") == {"n": 1}
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {SA}"
    assert request.headers["lightdash-request-method"] == kind
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("lightkeeper-cli/")


def test_bodies_over_1_kib_are_gzipped() -> None:
    client, seen = recording_client(PAT)
    small = [{"name": "a"}]
    large = [{"name": f"explore_{i}", "label": "x" * 50} for i in range(40)]
    client.put("/small", small)
    client.put("/large", large)
    assert "content-encoding" not in seen[0].headers
    assert json.loads(seen[0].content) == small
    assert seen[1].headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(seen[1].content)) == large
    assert len(seen[1].content) < len(json.dumps(large))


# -- answers -----------------------------------------------------------------------


def error_answer(status: int, message: str, **headers: str) -> httpx.Response:
    body = {"status": "error", "error": {"statusCode": status, "name": "X", "message": message}}
    return httpx.Response(status, json=body, headers=headers)


def test_a_401_names_the_token_to_fix() -> None:
    answer = error_answer(401, "Invalid service account token. Authentication failed.")
    for source, fix in (
        (Source.ENV, "Check LIGHTDASH_API_KEY."),
        (Source.FLAG, "Check --token (or LIGHTDASH_API_KEY)."),
        (Source.CONFIG, "run `lightkeeper login` again or set LIGHTDASH_API_KEY."),
    ):
        client, _ = recording_client(SA, answer, token_source=source)
        with pytest.raises(ApiError) as caught:
            client.get("/api/v1/user")
        assert caught.value.exit_code == 1
        assert caught.value.message.startswith(
            "Token rejected by http://lk.test: Invalid service account token. "
            "Authentication failed. "
        )
        assert caught.value.message.endswith(fix)
        assert SA not in caught.value.message


def test_other_errors_carry_the_server_message_as_is() -> None:
    client, _ = recording_client(
        PAT, error_answer(429, "Token can only be rotated once per hour", **{"Retry-After": "120"})
    )
    with pytest.raises(ApiError) as caught:
        client.patch("/rotate", {})
    assert caught.value.message == "Token can only be rotated once per hour"
    assert caught.value.status == 429 and caught.value.retry_after == "120"


def test_what_is_not_the_api_is_said_so() -> None:
    client, _ = recording_client(PAT, httpx.Response(502, text="<html>Bad gateway</html>"))
    with pytest.raises(ApiError) as caught:
        client.get("/api/v1/user")
    assert "HTTP 502" in caught.value.message and "not a Lightkeeper API" in caught.value.message


def test_redirects_are_not_followed_with_the_token() -> None:
    client, seen = recording_client(
        PAT, httpx.Response(301, headers={"Location": "https://elsewhere.test/api/v1/user"})
    )
    with pytest.raises(ApiError) as caught:
        client.get("/api/v1/user")
    assert "redirected" in caught.value.message and len(seen) == 1


def test_a_server_that_cannot_be_reached_is_exit_3() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = ApiClient("http://lk.test", PAT, transport=httpx.MockTransport(refuse))
    with pytest.raises(CliError) as caught:
        client.get("/api/v1/user")
    assert caught.value.exit_code == EXIT_UNREACHABLE
    assert "Cannot reach the server at http://lk.test" in caught.value.message


def test_a_token_with_a_line_break_is_refused_before_sending() -> None:
    with pytest.raises(CliError, match="LIGHTDASH_API_KEY contains"):
        ApiClient("http://lk.test", "ldpat_abc\ndef", token_source=Source.ENV)


# -- configuration -----------------------------------------------------------------


def test_config_lives_under_xdg_config_home(tmp_path: Path) -> None:
    assert config_path() == tmp_path / "xdg" / "lightkeeper" / "config.yaml"


def test_the_config_file_is_written_0600_atomically(tmp_path: Path) -> None:
    path = save_config(SavedConfig(url="http://a.test", token=PAT, project_uuid="p"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]
    path.chmod(0o644)
    save_config(SavedConfig(url="http://a.test", token=PAT))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a looser file is tightened
    assert load_config().token == PAT


def test_precedence_flags_then_environment_then_config(monkeypatch: pytest.MonkeyPatch) -> None:
    save_config(SavedConfig(url="http://a.test", token=PAT, project_uuid="saved", project_name="S"))
    saved = resolve()
    assert (saved.url, saved.token, saved.project_uuid, saved.project_name) == (
        "http://a.test",
        PAT,
        "saved",
        "S",
    )
    assert saved.token_source == Source.CONFIG

    monkeypatch.setenv("LIGHTDASH_PROJECT", "from-env")
    monkeypatch.setenv("LIGHTDASH_API_KEY", SA)
    env = resolve()
    assert (env.token, env.token_source, env.project_uuid) == (SA, Source.ENV, "from-env")
    assert env.project_name is None

    flags = resolve(project="from-flag")
    assert (flags.project_uuid, flags.project_source) == ("from-flag", Source.FLAG)


def test_a_saved_token_stays_with_its_server(monkeypatch: pytest.MonkeyPatch) -> None:
    save_config(SavedConfig(url="http://a.test", token=PAT, project_uuid="saved"))
    monkeypatch.setenv("LIGHTDASH_URL", "http://b.test/")
    other = resolve()
    assert other.url == "http://b.test" and other.token is None and other.project_uuid is None
    monkeypatch.setenv("LIGHTDASH_URL", "http://a.test")
    same = resolve()
    assert same.token == PAT and same.url_source == Source.ENV


def test_a_broken_config_file_says_what_to_do() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("context: [unclosed\n")
    with pytest.raises(ConfigError, match="delete it and run `lightkeeper login`"):
        resolve()


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("https://lightdash.example.com/", "https://lightdash.example.com"),
        ("lightdash.example.com", "https://lightdash.example.com"),
        ("localhost:8080", "http://localhost:8080"),
        ("http://10.0.0.1:8080/lightdash", "http://10.0.0.1:8080/lightdash"),
    ],
)
def test_normalize_url(raw: str, url: str) -> None:
    assert normalize_url(raw) == url


@pytest.mark.parametrize("raw", ["", "ftp://x.test", "http://", "https://x.test/?a=1"])
def test_bad_urls(raw: str) -> None:
    with pytest.raises(ConfigError):
        normalize_url(raw)


# -- --expires ---------------------------------------------------------------------

NOW = datetime(2026, 11, 27, 19, 16, 56, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30d", "2026-12-27T19:16:56.123Z"),
        ("12h", "2026-11-28T07:16:56.123Z"),
        ("2w", "2026-12-11T19:16:56.123Z"),
        ("2027-01-01", "2027-01-01T00:00:00.000Z"),
        ("2027-01-01T12:00:00Z", "2027-01-01T12:00:00.000Z"),
        ("2027-01-01T12:00:00+02:00", "2027-01-01T10:00:00.000Z"),
        ("never", None),
        ("NEVER", None),
    ],
)
def test_expires(value: str, expected: str | None) -> None:
    assert parse_expires(value, now=NOW) == expected


@pytest.mark.parametrize("value", ["2027-01-01T12:00:00", "tomorrow", "0d", "2027-02-30", "30"])
def test_bad_expires_are_usage_errors(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_expires(value, now=NOW)
    assert caught.value.exit_code == 2


# -- content files -----------------------------------------------------------------

CHART = {
    "version": 1,
    "name": "Orders",
    "description": "Two\nlines",
    "slug": "orders",
    "spaceSlug": "sales",
    "tableName": "orders",
    "metricQuery": {"values": ["NO", "yes", "2026-01-01"], "limit": 500, "b": 1, "a": 0.5},
    "chartConfig": {},
    "tableConfig": {"columnOrder": []},
    "updatedAt": "2026-11-27T19:16:56.000Z",
}


def test_a_downloaded_file_reads_back_unchanged(tmp_path: Path) -> None:
    path = write_document(tmp_path, Kind.CHART, CHART, "2026-11-27T20:00:00.000Z")
    assert path == tmp_path / "charts" / "orders.yml"
    text = path.read_text()
    assert text.index("name:") < text.index("slug:") < text.index("metricQuery:")
    assert text.index("  a: 0.5") < text.index("  b: 1")  # nested keys sorted
    content = read_document(Kind.CHART, path)
    assert content.changed_locally is False
    assert content.body() == CHART  # the local keys are not sent
    assert content.document["metricQuery"]["values"] == ["NO", "yes", "2026-01-01"]

    path.write_text(text.replace("name: Orders", "name: Orders v2"))
    assert read_document(Kind.CHART, path).changed_locally is True


def test_hand_written_files_use_yaml_1_2_scalars(tmp_path: Path) -> None:
    path = tmp_path / "charts" / "hand.yml"
    path.parent.mkdir()
    path.write_text("name: Hand\nvalues: [NO, no, yes, 2026-01-01, true]\n")
    content = read_document(Kind.CHART, path)
    assert content.slug == "hand"  # from the file name when the document has none
    assert content.document["values"] == ["NO", "no", "yes", "2026-01-01", True]
    assert content.changed_locally is True
    assert CONTENT_HASH not in content.body()


@pytest.mark.parametrize("slug", ["../escape", "a/b", ".hidden", "", None])
def test_unusable_slugs_are_refused(tmp_path: Path, slug: Any) -> None:
    with pytest.raises(ContentFileError):
        write_document(tmp_path, Kind.CHART, CHART | {"slug": slug}, "now")
    assert not any(tmp_path.rglob("*.yml"))


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text(yaml.safe_dump(["a", "b"]))
    with pytest.raises(ContentFileError, match="not a chart document"):
        read_document(Kind.CHART, path)


def test_github_answering_no_json_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from lightkeeper.client import oidc

    seen: list[tuple[str, Any]] = []

    def proxy_page(url: str, **kwargs: Any) -> httpx.Response:
        seen.append((url, kwargs["params"]))
        return httpx.Response(200, text="<html>Sign in to the proxy</html>")

    monkeypatch.setenv(oidc.GITHUB_REQUEST_URL, "https://actions.test/id-token?api-version=2.0")
    monkeypatch.setenv(oidc.GITHUB_REQUEST_TOKEN, "request-token")
    monkeypatch.setattr(oidc.httpx, "get", proxy_page)
    with pytest.raises(CliError) as caught:
        oidc.identity_token(oidc.OidcOptions(audience="https://lk.example"))
    assert "GitHub did not hand out an identity token (HTTP 200)" in caught.value.message
    assert seen == [
        ("https://actions.test/id-token?api-version=2.0", {"audience": "https://lk.example"})
    ]
