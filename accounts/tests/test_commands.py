import json
import os
import shutil
import stat
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account, Assistant, Certificate
from tskr.testing import ApiClient


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.smoke
def test_create_account_issue_certificate_and_mint_token_work_together(db, tmp_path):
    account = run("create_account", "Initech")
    assert account["id"].startswith("acc_") and account["staff"] is False
    key_path = tmp_path / "initech.pem"
    issued = run("issue_certificate", "--account", account["id"], "--out", str(key_path))
    assert Certificate.objects.get(kid=issued["kid"]).account_id == account["id"]
    pem = key_path.read_text()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert "PRIVATE" not in Certificate.objects.get(kid=issued["kid"]).public_key_pem
    minted = run("mint_token", "--kid", issued["kid"], "--key", str(key_path), "--email", "pat@initech.test",
                 "--first-name", "Pat", "--ttl", "600")
    response = ApiClient(minted["token"]).get("/users")
    assert response.status_code == 200
    assert response.json()["users"][0]["firstName"] == "Pat"


def test_create_staff_account(db):
    assert Account.objects.get(id=run("create_account", "Skej", "--staff")["id"]).staff


def test_plain_output_is_the_bare_id(db):
    out = StringIO()
    call_command("create_account", "Plain", stdout=out)
    assert Account.objects.filter(id=out.getvalue().strip()).exists()


def test_revoke_certificate_stops_its_tokens(alice):
    token = alice.token()
    assert ApiClient(token).get("/users").status_code == 200
    result = run("revoke_certificate", alice.certificate.kid)
    assert result["status"] == "revoked"
    assert ApiClient(token).get("/users").json()["error_code"] == "certificate_revoked"


def test_commands_fail_cleanly_on_unknown_ids(db, tmp_path):
    with pytest.raises(CommandError):
        call_command("issue_certificate", "--account", "acc_nope", "--out", str(tmp_path / "k.pem"))
    with pytest.raises(CommandError):
        call_command("revoke_certificate", "kid_nope")
    with pytest.raises(CommandError):
        call_command("mint_token", "--kid", "k", "--key", str(tmp_path / "missing.pem"))


def test_demo_setup_is_idempotent_and_prints_a_working_curl(db, tmp_path):
    first = run("demo_setup", "--key-dir", str(tmp_path / "demo"))
    second = run("demo_setup", "--key-dir", str(tmp_path / "demo"))
    assert first["accountId"] == second["accountId"] and first["kid"] == second["kid"]
    assert Assistant.objects.filter(account_id=first["accountId"]).count() == 1
    assert first["curl"].startswith("curl ") and first["token"] in first["curl"]
    assert ApiClient(second["token"]).get("/assistants").json()["assistants"][0]["id"] == first["assistantId"]


JOSE_SCRIPT = """
import * as jose from 'jose';
import { readFileSync } from 'node:fs';
const privateKeyPem = readFileSync(process.argv[2], 'utf8');
const privateKey = await jose.importPKCS8(privateKeyPem, 'RS256');
const claims = process.argv[4] ? { email: process.argv[4], firstName: 'John', lastName: 'Doe' } : {};
const jwt = await new jose.SignJWT(claims)
  .setProtectedHeader({ alg: 'RS256', kid: process.argv[3] })
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey);
console.log(jwt);
"""


@pytest.fixture(scope="session")
def jose_dir(tmp_path_factory):
    """The real `jose` npm package, installed once per session (the contract's JavaScript example)."""
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "node and npm are needed for the contract's jose example"
    directory = Path(os.environ.get("TSKR_JOSE_DIR", tmp_path_factory.mktemp("jose")))
    if not (directory / "node_modules" / "jose").exists():
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(directory),
                        "jose@6"], check=True, capture_output=True, timeout=300)
    (directory / "sign.mjs").write_text(JOSE_SCRIPT)
    return directory


def test_the_contracts_jose_example_signs_tokens_the_server_accepts(db, tmp_path, jose_dir):
    account = run("create_account", "JS Shop")
    key_path = tmp_path / "js.pem"
    kid = run("issue_certificate", "--account", account["id"], "--out", str(key_path))["kid"]

    def jose_token(*email):
        result = subprocess.run(["node", str(jose_dir / "sign.mjs"), str(key_path), kid, *email],
                                capture_output=True, text=True, timeout=60, cwd=jose_dir)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    management = ApiClient(jose_token()).get("/assistants")
    assert management.status_code == 200, management.json()
    delegated = ApiClient(jose_token("user@example.com")).get("/users")
    assert delegated.status_code == 200
    assert delegated.json()["users"][0] == {**delegated.json()["users"][0], "email": "user@example.com",
                                            "firstName": "John", "lastName": "Doe"}
