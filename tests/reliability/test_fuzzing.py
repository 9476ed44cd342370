"""Hypothesis fuzzing of what strangers control: Graph's webhook body and the programme files admins load.

Whatever arrives, the answer is a clear error (4xx JSON on the webhook, ``ProgrammeError`` naming file and line for
programmes, ``None`` or ``NotificationCryptoError`` in the notification parser), never a crash or a 5xx.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.adapters.graph_notifications import (
    NotificationCryptoError,
    decrypt_resource,
    parse_message_resource,
    parse_notification_key,
)
from plugin.domain.programme import DEFAULT_PATH, Programme, ProgrammeError, parse_programme
from tests.integration.ingest_fixtures import notification_cert

STATE = "sandbox-client-state"
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PROGRAMME = DEFAULT_PATH.read_text(encoding="utf-8")
PROGRAMME_LINES = PROGRAMME.splitlines()
ERROR_LINE = re.compile(r"^fuzzed\.toml:(\d+): \S")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
#: Notification-shaped items: the real keys with values of any JSON type, some keys missing, strangers added.
notification_items = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values, "subscriptionId": st.text(max_size=40) | json_values,
        "clientState": st.just(STATE) | json_values,
        "changeType": st.sampled_from(["created", "updated", "deleted"]) | json_values,
        "resource": st.text(max_size=80) | st.just("teams('t')/channels('c')/messages('1')") | json_values,
        "resourceData": st.dictionaries(st.sampled_from(["id", "@odata.type", "@odata.etag"]), json_values)
        | json_values,
        "tenantId": json_values, "subscriptionExpirationDateTime": json_values, "lifecycleEvent": json_values,
        "encryptedContent": st.dictionaries(st.sampled_from(["data", "dataKey", "dataSignature",
                                                             "encryptionCertificateId"]), json_values) | json_values,
    },
).flatmap(lambda item: st.dictionaries(st.text(max_size=10), json_values, max_size=2).map(lambda x: {**x, **item}))
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(notification_items, max_size=5).map(lambda items: json.dumps({"value": items}).encode()),
    st.fixed_dictionaries({"value": st.lists(notification_items, max_size=3), "validationTokens": json_values})
      .map(lambda d: json.dumps(d).encode()),
)


@FUZZ
@given(body=bodies, lifecycle=st.booleans())
def test_the_webhook_answers_any_body_with_202_or_a_clear_4xx(client, body: bytes, lifecycle: bool):
    path = "/webhooks/graph/lifecycle" if lifecycle else "/webhooks/graph"
    answer = client.post(path, data=body, content_type="application/json")
    assert answer.status_code in (202, 400, 403, 413), answer.get_data(as_text=True)
    if answer.status_code != 202:
        error = answer.get_json()
        assert set(error) == {"error", "message"} and error["error"] and error["message"]


@FUZZ
@given(resource=st.text(max_size=120) | st.from_regex(r"teams[(/]'?[^']*'?\)?/channels.*", fullmatch=True))
def test_any_resource_path_is_understood_or_set_aside(resource: str):
    parsed = parse_message_resource(resource)
    assert parsed is None or (parsed.team_id and parsed.channel_id and parsed.message_id)


@FUZZ
@given(encrypted=st.dictionaries(st.sampled_from(["data", "dataKey", "dataSignature", "encryptionCertificateId",
                                                  "encryptionCertificateThumbprint"]),
                                 st.text(max_size=60) | st.binary(max_size=40).map(lambda b: b.hex()) | json_values))
def test_garbage_encrypted_content_is_a_clear_crypto_error(notification_key, encrypted: dict[str, Any]):
    try:
        decrypt_resource(encrypted, notification_key)
    except NotificationCryptoError as exc:
        assert str(exc)
    else:
        raise AssertionError("garbage decrypted")


def check_programme(text: str) -> None:
    """Either a programme or a ProgrammeError that names the file and a line of it."""
    try:
        programme = parse_programme(text, "fuzzed.toml")
    except ProgrammeError as exc:
        match = ERROR_LINE.match(str(exc))
        assert match, str(exc)
        assert 1 <= int(match.group(1)) <= max(len(text.splitlines()), 1) + 1
    else:
        assert isinstance(programme, Programme) and len(programme.weeks) >= 1


@FUZZ
@given(text=st.text(max_size=400))
def test_any_text_as_a_programme_file_gives_a_clear_error(text: str):
    check_programme(text)


scalars = st.sampled_from(['""', "0", "-1", "99999999999999999999", "true", "[]", "{}", '"x"', "1.5",
                           '{ en = "", nl = "" }', '{ en = "x" }', "[1, 2]", '"\\u0000"', "nan"])


@FUZZ
@given(data=st.data())
def test_a_mutilated_default_programme_gives_a_clear_error(data: st.DataObject):
    lines = list(PROGRAMME_LINES)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "value", "swap"]))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "value" and "=" in lines[index]:
            lines[index] = lines[index].split("=", 1)[0] + "= " + data.draw(scalars)
        elif action == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
    check_programme("\n".join(lines) + "\n")


def test_the_default_programme_parses():
    check_programme(PROGRAMME)


@pytest.fixture(scope="module")
def notification_key(tmp_path_factory):
    """Our notification private key (the one subscriptions would carry the certificate of)."""
    cert = notification_cert(tmp_path_factory.mktemp("cert"))
    return parse_notification_key(cert.key_path.read_bytes())
