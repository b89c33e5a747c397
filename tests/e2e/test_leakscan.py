"""The leak scan the end-to-end tests rely on finds a secret in each form it claims to cover."""

import base64
import urllib.parse

from tests.harness.e2e import leaks

SECRET = "Abc8Q~s3cr3t+/value=="


def test_finds_plain_base64_and_url_encoded_secrets():
    for blob in (SECRET, base64.b64encode(SECRET.encode()).decode(), urllib.parse.quote(SECRET, safe=""),
                 urllib.parse.quote_plus(SECRET), base64.urlsafe_b64encode(SECRET.encode()).decode()):
        scanned, hits = leaks([b"before " + blob.encode() + b" after"], [SECRET])
        assert hits and set(hits) == {"Abc…"} and scanned == len(blob) + 13


def test_counts_bytes_and_finds_nothing_in_clean_output():
    assert leaks([b"x" * 10, b"key ID 1234"], [SECRET, ""]) == (21, [])
