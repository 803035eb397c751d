"""Forged and broken tokens: clearance tokens at ``POST /v1/verify``, access tokens on the API.

Every forgery starts from a token the server really accepts (the control tests prove it), so a
refusal is down to the one thing the case changed. A clearance must get ``200 deny`` with the
token-level code the case names and nothing about the holder; an access token must get a
``401`` problem.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.domain.signing_keys import public_jwk, thumbprint_kid
from greenlane.settings import Settings, new_key_text

from ..api.actors import Actor, Admin
from ..api.lane_setup import Issued, issue, lanes_and_partner, question
from ..api.problems import assert_problem
from ..api.tokens import expire_retiring_key
from ..waiting import eventually
from .jws import (
    DROP,
    Sign,
    es256,
    es256_der,
    fixed,
    hmac_with,
    remade,
    respelled_signature,
    signature_bytes,
    swap_alphabet,
    unsigned,
    with_signature,
)

ATTACKER_URL = "https://attacker.example/keys.json"
# Nine bytes of "~" always hold a whole base64 group "fn5+", so the encoded part has a "-".
URLSAFE_ONLY = {"pad": "~" * 9}
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# Every form in which the service's public signing key can be read, used as an HMAC secret.
PUBLIC_FORMS = ("jwks", "jwk", "pem", "der")


@dataclass(frozen=True)
class Kit:
    """What the attacks are made from: real tokens, the keys a server holds or publishes."""

    lane: Actor
    partner: Actor
    good: Issued
    retired_token: str
    signing_key: ec.EllipticCurvePrivateKey
    other_kid: str
    public: dict[str, bytes]
    attacker: ec.EllipticCurvePrivateKey
    access_key: bytes
    disabled_token: str

    def clearance(
        self,
        *,
        header: dict[str, Any] | bytes | None = None,
        claims: dict[str, Any] | bytes | None = None,
        sign: Sign | None = None,
    ) -> str:
        """The good clearance, changed as asked and signed by the active key unless told."""
        return remade(self.good.token, sign or es256(self.signing_key), header, claims)

    def access(
        self,
        *,
        header: dict[str, Any] | bytes | None = None,
        claims: dict[str, Any] | bytes | None = None,
        sign: Sign | None = None,
    ) -> str:
        """The partner's access token, changed as asked and signed by the service's key."""
        return remade(self.partner.token, sign or hmac_with(self.access_key), header, claims)

    def attacker_jwk(self) -> dict[str, str]:
        return public_jwk(self.attacker.public_key())

    def issuer(self) -> str:
        issuer: str = jwt.decode(self.partner.token, options={"verify_signature": False})["iss"]
        return issuer

    def own_kid(self) -> str:
        kid: str = jwt.get_unverified_header(self.good.token)["kid"]
        return kid

    def list_uri(self) -> str:
        """The good token's status list."""
        claims = jwt.decode(self.good.token, options={"verify_signature": False})
        uri: str = claims["status"]["status_list"]["uri"]
        return uri


def rotate(admin: Admin) -> None:
    assert admin.post("/v1/admin/keys/rotate").status_code == 200


def public_forms(http: TestClient[Litestar], key: ec.EllipticCurvePublicKey) -> dict[str, bytes]:
    jwks = http.get("/.well-known/jwks.json").content
    kid = thumbprint_kid(key)
    (jwk,) = [k for k in json.loads(jwks)["keys"] if k["kid"] == kid]
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return {
        "jwks": jwks,
        "jwk": json.dumps(jwk, separators=(",", ":")).encode(),
        "pem": key.public_bytes(serialization.Encoding.PEM, info),
        "der": key.public_bytes(serialization.Encoding.DER, info),
    }


def verify(kit: Kit, token: str) -> dict[str, Any]:
    response = kit.lane.post("/v1/verify", json=question(token=token, document=kit.good.document()))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def kit(
    shared_admin: Admin, shared_client: TestClient[Litestar], settings: Settings, database_url: str
) -> Kit:
    lane, partner = lanes_and_partner(shared_admin)
    soon_retired = issue(partner)
    assert verify_decision(lane, soon_retired) == "green"
    retired_kid = jwt.get_unverified_header(soon_retired.token)["kid"]
    rotate(shared_admin)
    # A token from the second key keeps that key verifying after the next rotation.
    other_kid = jwt.get_unverified_header(issue(partner).token)["kid"]
    expire_retiring_key(database_url, retired_kid)
    rotate(shared_admin)
    states = {
        key["kid"]: key["state"] for key in shared_admin.get("/v1/admin/keys").json()["items"]
    }
    assert (states[retired_kid], states[other_kid]) == ("retired", "retiring")
    signer = shared_client.app.state.runtime.keyring.signer
    victim_id, victim_secret = shared_admin.new_client(
        role="partner", name="disabled later", partner_id=partner.extra["partner_id"]
    )
    disabled = Actor(shared_client, victim_id, victim_secret)
    assert shared_admin.delete(f"/v1/admin/clients/{victim_id}").status_code == 200
    wait_until_refused(disabled)
    return Kit(
        lane=lane,
        partner=partner,
        good=issue(partner),
        retired_token=soon_retired.token,
        signing_key=signer.private_key,
        other_kid=other_kid,
        public=public_forms(shared_client, signer.private_key.public_key()),
        attacker=ec.generate_private_key(ec.SECP256R1()),
        access_key=settings.access_token_key.reveal(),
        disabled_token=disabled.token,
    )


def wait_until_refused(disabled: Actor) -> None:
    """A disabling reaches the worker's client registry by NOTIFY, a moment after the answer;
    how fast it must arrive is another test's business, this one needs it arrived."""
    eventually(
        lambda: disabled.get("/v1/me").status_code == 401,
        what="the disabling to reach the worker",
        timeout=2.0,
    )


def verify_decision(lane: Actor, issued: Issued) -> str:
    decision: str = lane.post("/v1/verify", json=question(issued)).json()["decision"]
    return decision


Build = Callable[[Kit], str]
NOW = int(time.time())


# Makes a token from the kit: ``forge(kit, header=..., claims=..., sign=...)``.
Forge = Callable[..., str]


def changed_by(forge: Forge, **parts: Any) -> Build:
    """The case: the kit's real token with ``parts`` changed."""
    return lambda kit: forge(kit, **parts)


def alg_none_cases(forge: Forge) -> dict[str, Build]:
    spellings = {f"alg {alg!r}": {"alg": alg} for alg in ("none", "None", "NONE", "nOnE", "")}
    spellings["alg missing"] = {"alg": DROP}
    cases = {
        name: changed_by(forge, header=header, sign=unsigned) for name, header in spellings.items()
    }
    cases["alg none with a real signature kept"] = changed_by(forge, header={"alg": "none"})
    return cases


def public_key_as_secret_cases(forge: Forge) -> dict[str, Build]:
    def case(alg: str, form: str) -> Build:
        return lambda kit: forge(kit, header={"alg": alg}, sign=hmac_with(kit.public[form], alg))

    return {
        f"{alg} with the public {form} as secret": case(alg, form)
        for alg in ("HS256", "HS384", "HS512")
        for form in PUBLIC_FORMS
    }


MALFORMED, SIGNATURE, KEY, EXPIRED, NOT_YET = (
    "token_malformed",
    "signature_invalid",
    "key_unknown",
    "token_expired",
    "token_not_yet_valid",
)
CLEARANCE_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "status",
    "gl",
)


def terms(token: str) -> str:
    """The good token's ``gl`` claim, to change one field of it."""
    value: str = jwt.decode(token, options={"verify_signature": False})["gl"]
    return value


def with_terms(k: Kit, change: Callable[[list[str]], list[str]], **options: Any) -> str:
    return k.clearance(claims={"gl": " ".join(change(terms(k.good.token).split(" ")))}, **options)


CLEARANCE_CASES: dict[str, tuple[Build, str]] = {
    **{name: (build, MALFORMED) for name, build in alg_none_cases(Kit.clearance).items()},
    **{
        name: (build, MALFORMED)
        for name, build in public_key_as_secret_cases(Kit.clearance).items()
    },
    "alg es256 in lower case": (lambda k: k.clearance(header={"alg": "es256"}), MALFORMED),
    "alg ES384": (lambda k: k.clearance(header={"alg": "ES384"}), MALFORMED),
    "alg RS256": (lambda k: k.clearance(header={"alg": "RS256"}), MALFORMED),
    "crit naming a claim": (lambda k: k.clearance(header={"crit": ["exp"]}), MALFORMED),
    "crit naming an extension": (
        lambda k: k.clearance(header={"crit": ["gl-trust"], "gl-trust": True}),
        MALFORMED,
    ),
    "kid path traversal": (lambda k: k.clearance(header={"kid": "../../etc/passwd"}), KEY),
    "kid /dev/null with an empty HMAC secret": (
        lambda k: k.clearance(
            header={"alg": "HS256", "kid": "../../../../dev/null"}, sign=hmac_with(b"")
        ),
        MALFORMED,
    ),
    "kid SQL injection": (lambda k: k.clearance(header={"kid": "' OR 1=1--"}), KEY),
    "kid of another key": (lambda k: k.clearance(header={"kid": k.other_kid}), SIGNATURE),
    "10 KB kid": (lambda k: k.clearance(header={"kid": "k" * 10_000}), MALFORMED),
    "kid as a number": (lambda k: k.clearance(header={"kid": 1}), MALFORMED),
    "kid as a list": (lambda k: k.clearance(header={"kid": [k.own_kid()]}), MALFORMED),
    "kid null": (lambda k: k.clearance(header={"kid": None}), MALFORMED),
    "kid empty": (lambda k: k.clearance(header={"kid": ""}), MALFORMED),
    "kid missing": (lambda k: k.clearance(header={"kid": DROP}), MALFORMED),
    "signed by an attacker under our kid": (
        lambda k: k.clearance(sign=es256(k.attacker)),
        SIGNATURE,
    ),
    "jku to the attacker's keys": (
        lambda k: k.clearance(header={"jku": ATTACKER_URL}, sign=es256(k.attacker)),
        SIGNATURE,
    ),
    "x5u to the attacker's certificate": (
        lambda k: k.clearance(header={"x5u": ATTACKER_URL}, sign=es256(k.attacker)),
        SIGNATURE,
    ),
    "jwk embedding the attacker's key": (
        lambda k: k.clearance(header={"jwk": k.attacker_jwk()}, sign=es256(k.attacker)),
        SIGNATURE,
    ),
    "jwk and kid of the attacker's key": (
        lambda k: k.clearance(
            header={"jwk": k.attacker_jwk(), "kid": k.attacker_jwk()["kid"]},
            sign=es256(k.attacker),
        ),
        KEY,
    ),
    "wrong issuer": (lambda k: k.clearance(claims={"iss": "https://evil.example"}), MALFORMED),
    "wrong audience": (lambda k: k.clearance(claims={"aud": "greenlane-api"}), MALFORMED),
    "audience as a list": (lambda k: k.clearance(claims={"aud": ["gl-lanes"]}), MALFORMED),
    "typ JWT": (lambda k: k.clearance(header={"typ": "JWT"}), MALFORMED),
    "typ at+jwt": (lambda k: k.clearance(header={"typ": "at+jwt"}), MALFORMED),
    "typ missing": (lambda k: k.clearance(header={"typ": DROP}), MALFORMED),
    **{
        f"{claim} missing": (changed_by(Kit.clearance, claims={claim: DROP}), MALFORMED)
        for claim in CLEARANCE_CLAIMS
    },
    "vehicle field without its binding": (
        lambda k: with_terms(k, lambda f: [*f[:3], "THA", *f[4:]]),
        MALFORMED,
    ),
    "iat as a string": (lambda k: k.clearance(claims={"iat": str(NOW)}), MALFORMED),
    "exp as a float": (lambda k: k.clearance(claims={"exp": NOW + 3600.5}), MALFORMED),
    "exp as true": (lambda k: k.clearance(claims={"exp": True}), MALFORMED),
    "nbf as null": (lambda k: k.clearance(claims={"nbf": None}), MALFORMED),
    "sub as a number": (lambda k: k.clearance(claims={"sub": 7}), MALFORMED),
    "gl as a list": (lambda k: k.clearance(claims={"gl": ["mbv", "THA"]}), MALFORMED),
    "entry rule unknown": (lambda k: with_terms(k, lambda f: ["u" + f[0][1:], *f[1:]]), MALFORMED),
    "category unknown": (lambda k: with_terms(k, lambda f: ["mvip", *f[1:]]), MALFORMED),
    "no port": (lambda k: with_terms(k, lambda f: f[:4]), MALFORMED),
    "status as a list": (lambda k: k.clearance(claims={"status": []}), MALFORMED),
    "status index outside the list": (
        lambda k: k.clearance(
            claims={"status": {"status_list": {"idx": 1 << 30, "uri": k.list_uri()}}}
        ),
        MALFORMED,
    ),
    "status list of another issuer": (
        lambda k: k.clearance(
            claims={
                "status": {
                    "status_list": {"idx": 0, "uri": "https://attacker.example/v1/status-lists/1"}
                }
            }
        ),
        MALFORMED,
    ),
    "header not JSON": (lambda k: k.clearance(header=b"not json"), MALFORMED),
    "header a JSON list": (lambda k: k.clearance(header=b'["ES256"]'), MALFORMED),
    "claims not JSON, signed": (lambda k: k.clearance(claims=b"not json"), MALFORMED),
    "claims a JSON list, signed": (lambda k: k.clearance(claims=b"[]"), MALFORMED),
    "expired": (lambda k: k.clearance(claims={"exp": NOW - 3600}), EXPIRED),
    "not yet valid": (lambda k: k.clearance(claims={"nbf": NOW + 3600}), NOT_YET),
    "signed by a retired key": (lambda k: k.retired_token, KEY),
    "tampered ports, original signature": (
        lambda k: with_terms(k, lambda f: [*f, "THLCH"], sign=fixed(signature_bytes(k.good.token))),
        SIGNATURE,
    ),
    "truncated signature": (lambda k: k.good.token[:-10], SIGNATURE),
    "truncated in the claims": (lambda k: k.good.token[: len(k.good.token) // 2], MALFORMED),
    "signature part empty": (lambda k: k.good.token.rsplit(".", 1)[0] + ".", MALFORMED),
    "oversized, signed by our key": (
        lambda k: k.clearance(claims={"pad": "x" * 2048}),
        MALFORMED,
    ),
    "oversized, 60 KB": (lambda k: k.clearance(claims={"pad": "x" * 44_000}), MALFORMED),
    "a trailing dot": (lambda k: k.good.token + ".", MALFORMED),
    "four segments": (lambda k: "e30." + k.good.token, MALFORMED),
    "five segments (JWE-shaped)": (lambda k: k.good.token + ".e30.e30", MALFORMED),
    "empty segments": (lambda k: "..", MALFORMED),
    "standard base64 alphabet": (
        lambda k: swap_alphabet(k.clearance(claims=URLSAFE_ONLY)),
        MALFORMED,
    ),
    "base64 padding": (lambda k: k.good.token + "==", MALFORMED),
    "a space inside": (lambda k: k.good.token[:20] + " " + k.good.token[20:], MALFORMED),
    "a non-ASCII letter": (lambda k: k.good.token[:20] + "é" + k.good.token[21:], MALFORMED),
    "signature spelt with padding bits set": (
        lambda k: respelled_signature(k.good.token),
        SIGNATURE,
    ),
    "signature one byte short": (
        lambda k: with_signature(k.good.token, signature_bytes(k.good.token)[:-1]),
        SIGNATURE,
    ),
    "signature one byte long": (
        lambda k: with_signature(k.good.token, signature_bytes(k.good.token) + b"\0"),
        SIGNATURE,
    ),
    "signature r = s = 0 (psychic signature)": (
        lambda k: k.clearance(sign=fixed(bytes(64))),
        SIGNATURE,
    ),
    "signature r = s = n": (
        lambda k: k.clearance(sign=fixed(_P256_ORDER.to_bytes(32, "big") * 2)),
        SIGNATURE,
    ),
    "DER-encoded ECDSA signature": (
        lambda k: k.clearance(sign=es256_der(k.signing_key)),
        SIGNATURE,
    ),
    "an access token": (lambda k: k.partner.token, MALFORMED),
}

ACCESS_CLAIMS = ("iss", "sub", "aud", "iat", "nbf", "exp", "jti", "client_id", "role", "scope")

ACCESS_CASES: dict[str, Build] = {
    **alg_none_cases(Kit.access),
    **public_key_as_secret_cases(Kit.access),
    "signed by a replaced access-token key": lambda k: k.access(
        sign=hmac_with(new_key_text().encode())
    ),
    "an empty HMAC secret": lambda k: k.access(sign=hmac_with(b"")),
    "a disabled client's token": lambda k: k.disabled_token,
    "crit naming a claim": lambda k: k.access(header={"crit": ["exp"]}),
    "kid /dev/null with an empty secret": lambda k: k.access(
        header={"kid": "../../../../dev/null"}, sign=hmac_with(b"")
    ),
    "kid SQL injection choosing the secret": lambda k: k.access(
        header={"kid": "x' UNION SELECT 'attacker'--"}, sign=hmac_with(b"attacker")
    ),
    "kid of the clearance key, its PEM as secret": lambda k: k.access(
        header={"kid": k.own_kid()}, sign=hmac_with(k.public["pem"])
    ),
    "10 KB kid": lambda k: k.access(header={"kid": "k" * 10_000}),
    "kid as a number, empty secret": lambda k: k.access(header={"kid": 0}, sign=hmac_with(b"")),
    "kid null, empty secret": lambda k: k.access(header={"kid": None}, sign=hmac_with(b"")),
    "jku to the attacker's keys": lambda k: k.access(
        header={"alg": "ES256", "jku": ATTACKER_URL}, sign=es256(k.attacker)
    ),
    "x5u to the attacker's certificate": lambda k: k.access(
        header={"alg": "ES256", "x5u": ATTACKER_URL}, sign=es256(k.attacker)
    ),
    "jwk embedding the attacker's key": lambda k: k.access(
        header={"alg": "ES256", "jwk": k.attacker_jwk()}, sign=es256(k.attacker)
    ),
    "jwk embedding the attacker's HMAC secret": lambda k: k.access(
        header={"jwk": {"kty": "oct", "k": "YXR0YWNrZXI"}}, sign=hmac_with(b"attacker")
    ),
    "wrong issuer": lambda k: k.access(claims={"iss": "https://evil.example"}),
    "wrong audience": lambda k: k.access(claims={"aud": "gl-lanes"}),
    "typ JWT": lambda k: k.access(header={"typ": "JWT"}),
    "typ gl-clearance+jwt": lambda k: k.access(header={"typ": "gl-clearance+jwt"}),
    "typ missing": lambda k: k.access(header={"typ": DROP}),
    **{f"{claim} missing": changed_by(Kit.access, claims={claim: DROP}) for claim in ACCESS_CLAIMS},
    "exp as a string": lambda k: k.access(claims={"exp": str(NOW + 600)}),
    "iat as a string": lambda k: k.access(claims={"iat": "yesterday"}),
    "nbf as a string": lambda k: k.access(claims={"nbf": "0"}),
    "jti as a number": lambda k: k.access(claims={"jti": 12}),
    "sub as a number": lambda k: k.access(claims={"sub": 12}),
    "client_id differing from sub": lambda k: k.access(claims={"client_id": str(uuid.uuid4())}),
    "role as a list": lambda k: k.access(claims={"role": ["partner"]}),
    "scope as a list": lambda k: k.access(claims={"scope": ["travellers"]}),
    "issuer as a list": lambda k: k.access(claims={"iss": [k.issuer()]}),
    "role raised to admin": lambda k: k.access(claims={"role": "admin", "scope": "admin"}),
    "a client that does not exist": lambda k: k.access(
        claims=dict.fromkeys(("sub", "client_id"), str(uuid.uuid4()))
    ),
    "expired": lambda k: k.access(claims={"exp": NOW - 1}),
    "not yet valid": lambda k: k.access(claims={"nbf": NOW + 3600}),
    "truncated by one character": lambda k: k.partner.token[:-1],
    "truncated signature": lambda k: k.partner.token[:-10],
    "truncated in the claims": lambda k: k.partner.token[: len(k.partner.token) // 2],
    "oversized, signed by our key": lambda k: k.access(claims={"pad": "x" * 2048}),
    "oversized, 60 KB": lambda k: k.access(claims={"pad": "x" * 44_000}),
    "a trailing dot": lambda k: k.partner.token + ".",
    "four segments": lambda k: "e30." + k.partner.token,
    "five segments (JWE-shaped)": lambda k: k.partner.token + ".e30.e30",
    "standard base64 alphabet": lambda k: swap_alphabet(k.access(claims=URLSAFE_ONLY)),
    "base64 padding": lambda k: k.partner.token + "=",
    "a character outside base64 inside": lambda k: (
        k.partner.token[:-5] + "!" + k.partner.token[-5:]
    ),
    "a space inside the claims": lambda k: k.partner.token.replace(".", ". ", 1),
    "signature spelt with padding bits set": lambda k: respelled_signature(k.partner.token),
    "signature one byte short": lambda k: with_signature(
        k.partner.token, signature_bytes(k.partner.token)[:-1]
    ),
    "signature one byte long": lambda k: with_signature(
        k.partner.token, signature_bytes(k.partner.token) + b"\0"
    ),
    "signature all zero": lambda k: k.access(sign=fixed(bytes(32))),
    "DER-encoded ECDSA signature by an attacker": lambda k: k.access(
        header={"alg": "ES256"}, sign=es256_der(k.attacker)
    ),
    "a clearance token": lambda k: k.good.token,
}


def test_the_kit_forges_what_the_server_accepts(kit: Kit) -> None:
    """Without this, a refusal below could be the kit's mistake instead of the server's check."""
    answer = verify(kit, kit.clearance(claims=URLSAFE_ONLY))
    assert answer["decision"] == "green", answer
    for token in (kit.access(), kit.access(claims=URLSAFE_ONLY)):
        response = kit.partner.http.get(
            "/v1/travellers", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("build", "code"), list(CLEARANCE_CASES.values()), ids=list(CLEARANCE_CASES)
)
def test_forged_clearance_tokens_are_denied(kit: Kit, build: Build, code: str) -> None:
    answer = verify(kit, build(kit))
    assert answer["decision"] == "deny"
    assert [reason["code"] for reason in answer["reasons"]] == [code]
    for about_the_person in ("holder", "vehicle", "crossing_id"):
        assert about_the_person not in answer


@pytest.mark.parametrize("build", list(ACCESS_CASES.values()), ids=list(ACCESS_CASES))
def test_forged_access_tokens_are_401(kit: Kit, build: Build) -> None:
    response = kit.partner.http.get(
        "/v1/travellers", headers={"Authorization": f"Bearer {build(kit)}"}
    )
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
