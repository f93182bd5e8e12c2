"""`loyalty.core.tokens`: a bank identity provider's JWTs, verified against its JWKS (no network:
the JWKS fetcher is a plain callable handed in)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from loyalty.core.auth import Caller
from loyalty.core.config import Settings
from loyalty.core.tokens import (
    Identity,
    InvalidToken,
    KeySet,
    KeySetUnavailable,
    TokenVerifier,
    allow_policy,
    bearer_token,
    fetch_jwks,
    verifier_from_settings,
)
from tests.unit.jwt_builders import (
    AUDIENCE,
    EC_KEY,
    ISSUER,
    JWKS_URL,
    METHOD_ARN,
    OTHER_RSA_KEY,
    RSA_KEY,
    FakeClock,
    FakeIdp,
    b64,
    claims,
    ec_jwk,
    forged_hs256,
    rs256,
    rsa_jwk,
    verifier,
)


def refusal(v: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        v.verify(token)
    return refused.value.reason


# --- accepted -------------------------------------------------------------------------------------


def test_a_valid_rs256_token_gives_its_subject_and_known_groups() -> None:
    # Given the issuer's JWKS and a token it signed, carrying directory groups besides ours
    idp = FakeIdp()
    token = rs256(claims(groups=["operators", "Domain Users", "approvers", "branch-0042"]))
    # When it is verified
    identity = verifier(idp).verify(token)
    # Then the subject and only the groups the engine checks come out, and the JWKS was fetched once
    assert identity == Identity(subject="c-001", groups=("approvers", "operators"))
    assert idp.fetches == 1


def test_a_valid_es256_token_is_accepted() -> None:
    # Given an issuer publishing a P-256 key and a token signed with it
    idp = FakeIdp(keys=[ec_jwk(EC_KEY, "ec1")])
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "ec1"})
    # When it is verified / Then it is accepted
    assert verifier(idp).verify(token).subject == "c-001"


def test_an_audience_list_containing_ours_is_accepted() -> None:
    # Given a token for several audiences, ours among them
    token = rs256(claims(aud=["mobile-banking", AUDIENCE]))
    # When it is verified / Then it is accepted
    assert verifier(FakeIdp()).verify(token).subject == "c-001"


def test_keys_are_cached_per_container() -> None:
    # Given a verifier that has already verified one token
    idp = FakeIdp()
    v = verifier(idp)
    v.verify(rs256(claims()))
    # When more tokens signed with the same key arrive
    for subject in ("c-002", "c-003"):
        v.verify(rs256(claims(sub=subject)))
    # Then the JWKS is not fetched again
    assert idp.fetches == 1


def test_clock_skew_within_the_leeway_is_tolerated() -> None:
    # Given a token that expired 10 seconds ago (within the 30 s leeway)
    token = rs256(claims(exp=int(time.time()) - 10))
    # When it is verified / Then it is still accepted
    assert verifier(FakeIdp()).verify(token).subject == "c-001"


@pytest.mark.parametrize(
    ("groups_claim", "token_claims", "expected"),
    [
        (None, {"cognito:groups": ["operators"]}, ("operators",)),  # a Cognito issuer
        (None, {"groups": "operators approvers"}, ("approvers", "operators")),  # a space-separated string
        ("roles", {"roles": ["approvers"], "groups": ["operators"]}, ("approvers",)),  # configured claim only
        (None, {}, ()),
    ],
)
def test_groups_are_read_from_the_configured_claim(groups_claim: str | None, token_claims: dict[str, Any], expected: tuple[str, ...]) -> None:
    # Given a groups claim name (or the defaults) and a token carrying groups in some shape
    token = rs256(claims() | token_claims)
    # When it is verified
    identity = verifier(FakeIdp(), groups_claim=groups_claim).verify(token)
    # Then the groups are read from that claim only
    assert identity.groups == expected


BANK_GROUPS = {"LOYALTY-OPS": "operators", "LOYALTY-CHECKERS": "approvers"}


@pytest.mark.parametrize(
    ("token_groups", "expected"),
    [
        (["LOYALTY-OPS", "STAFF"], ("operators",)),
        ("LOYALTY-OPS LOYALTY-CHECKERS", ("approvers", "operators")),  # a space-separated string
        (["operators", "approvers"], ()),  # with a map, the IdP's own "operators" group grants nothing
        (["loyalty-ops"], ()),  # names match exactly
        ([], ()),
    ],
)
def test_a_group_map_translates_the_idp_s_group_names_and_nothing_else(token_groups: Any, expected: tuple[str, ...]) -> None:
    # Given a bank IdP whose group names are not ours, and a map from its names to ours
    token = rs256(claims(groups=token_groups))
    # When a token is verified
    identity = verifier(FakeIdp(), group_map=BANK_GROUPS).verify(token)
    # Then the caller has our groups for the mapped names only
    assert identity.groups == expected


def test_a_group_name_smuggling_a_separator_never_becomes_operators() -> None:
    # Given a token whose group names contain the separators the context is joined and split on
    token = rs256(claims(groups=["x,operators", "[operators", "ops operators x"]))
    # When it is verified
    identity = verifier(FakeIdp()).verify(token)
    # Then no group survives, so the handlers can never read "operators" out of them
    assert identity.groups == ()


# --- refused --------------------------------------------------------------------------------------


def test_an_expired_token_is_refused() -> None:
    # Given a token that expired two minutes ago (beyond the leeway)
    token = rs256(claims(exp=int(time.time()) - 120))
    # When it is verified / Then it is refused as expired
    assert refusal(verifier(FakeIdp()), token) == "expired"


def test_a_token_not_yet_valid_is_refused() -> None:
    # Given a token whose nbf is five minutes away
    token = rs256(claims(nbf=int(time.time()) + 300))
    # When it is verified / Then it is refused
    assert refusal(verifier(FakeIdp()), token) == "not_yet_valid"


def test_a_token_signed_by_another_key_is_refused() -> None:
    # Given a token naming the issuer's kid but signed with some other private key
    token = rs256(claims(), key=OTHER_RSA_KEY, kid="k1")
    # When it is verified / Then the signature check refuses it
    assert refusal(verifier(FakeIdp()), token) == "bad_signature"


def test_a_tampered_payload_is_refused() -> None:
    # Given a valid token whose payload is swapped for another subject's
    header, _, signature = rs256(claims()).split(".")
    forged_payload = b64(json.dumps(claims(sub="c-999")).encode())
    # When it is verified / Then it is refused
    assert refusal(verifier(FakeIdp()), f"{header}.{forged_payload}.{signature}") == "bad_signature"


def test_alg_none_is_refused() -> None:
    # Given an unsigned token (alg=none), naming a real kid
    token = jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"})  # type: ignore[arg-type]
    # When it is verified / Then it is refused before any key is looked up
    idp = FakeIdp()
    assert refusal(verifier(idp), token) == "algorithm_not_allowed"
    assert idp.fetches == 0


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    # Given an HS256 token whose secret is the issuer's public key, as PEM and as the JWK's modulus
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    v = verifier(FakeIdp())
    for secret in (pem, json.dumps(rsa_jwk(RSA_KEY, "k1")).encode()):
        # When it is verified / Then it is refused: HMAC is never accepted
        assert refusal(v, forged_hs256(claims(), secret)) == "algorithm_not_allowed"


def test_a_symmetric_key_in_the_jwks_is_never_used() -> None:
    # Given a JWKS that (wrongly) also publishes an HMAC secret, and a token signed with it
    secret = b"published-secret-0123456789-0123456789"
    idp = FakeIdp(keys=[rsa_jwk(RSA_KEY, "k1"), {"kty": "oct", "kid": "hmac", "k": b64(secret), "alg": "HS256"}])
    # When it is verified / Then it is refused
    assert refusal(verifier(idp), forged_hs256(claims(), secret, kid="hmac")) == "algorithm_not_allowed"


def test_an_algorithm_other_than_the_keys_is_refused() -> None:
    # Given an ES256 header naming the issuer's RSA key
    idp = FakeIdp(keys=[rsa_jwk(RSA_KEY, "k1"), ec_jwk(EC_KEY, "ec1")])
    token = jwt.encode(claims(), EC_KEY, algorithm="ES256", headers={"kid": "k1"})
    # When it is verified / Then it is refused for the mismatch
    assert refusal(verifier(idp), token) == "algorithm_mismatch"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example/"}, "wrong_issuer"),
        ({"iss": "https://idp.bank.example"}, "wrong_issuer"),  # exact match: no trailing-slash leniency
        ({"aud": "another-api"}, "wrong_audience"),
        ({"aud": ["another-api", "a-third"]}, "wrong_audience"),
        ({"sub": None}, "missing_claim"),
        ({"sub": "  "}, "missing_claim"),
        ({"exp": None}, "missing_claim"),
        ({"aud": None}, "missing_claim"),
        ({"iss": None}, "missing_claim"),
    ],
)
def test_wrong_or_missing_claims_are_refused(overrides: dict[str, Any], reason: str) -> None:
    # Given a token correctly signed but for another issuer or audience, or without a claim we need
    token = rs256(claims(**overrides))
    # When it is verified / Then it is refused with that reason
    assert refusal(verifier(FakeIdp()), token) == reason


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 9000])
def test_malformed_tokens_are_refused(token: str) -> None:
    assert refusal(verifier(FakeIdp()), token) == "malformed"


def test_a_token_without_kid_is_refused() -> None:
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256")
    assert refusal(verifier(FakeIdp()), token) == "no_kid"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_an_undersized_rsa_key_in_the_jwks_is_never_used() -> None:
    # Given a JWKS whose only key is a 1024-bit RSA key, and a token it signed
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    idp = FakeIdp(keys=[rsa_jwk(weak, "weak")])
    # When it is verified / Then the key is unknown, so the token is refused
    assert refusal(verifier(idp), rs256(claims(), key=weak, kid="weak")) == "unknown_kid"


# --- the key set: rotation, cooldown, outages -----------------------------------------------------


def test_an_unknown_kid_refetches_the_jwks_then_is_refused() -> None:
    # Given a verifier that fetched the JWKS a while ago
    idp, clock = FakeIdp(), FakeClock()
    v = verifier(idp, clock)
    v.verify(rs256(claims()))
    clock.now += 60
    # When a token names a kid the issuer does not publish
    reason = refusal(v, rs256(claims(), key=OTHER_RSA_KEY, kid="k-unknown"))
    # Then the JWKS was fetched again (the issuer may have rotated) and the token is refused
    assert idp.fetches == 2
    assert reason == "unknown_kid"


def test_a_rotated_key_is_picked_up_on_first_sight() -> None:
    # Given a verifier holding the old key, and an issuer that has since published a new one
    idp, clock = FakeIdp(), FakeClock()
    v = verifier(idp, clock)
    v.verify(rs256(claims()))
    idp.keys = [rsa_jwk(RSA_KEY, "k1"), rsa_jwk(OTHER_RSA_KEY, "k2")]
    clock.now += 60
    # When a token signed with the new key arrives
    identity = v.verify(rs256(claims(), key=OTHER_RSA_KEY, kid="k2"))
    # Then the JWKS is refetched and the token accepted
    assert identity.subject == "c-001"
    assert idp.fetches == 2


def test_unknown_kids_cannot_make_us_hammer_the_issuer() -> None:
    # Given a verifier that just fetched the JWKS
    idp, clock = FakeIdp(), FakeClock()
    v = verifier(idp, clock)
    v.verify(rs256(claims()))
    # When many tokens with random kids arrive within the cooldown
    for n in range(20):
        assert refusal(v, rs256(claims(), kid=f"random-{n}")) == "unknown_kid"
    # Then the JWKS is not fetched again
    assert idp.fetches == 1


def test_an_old_key_set_is_refreshed_and_a_removed_key_stops_working() -> None:
    # Given a verifier holding k1, and an issuer that has since withdrawn it
    idp, clock = FakeIdp(), FakeClock()
    v = verifier(idp, clock)
    v.verify(rs256(claims()))
    idp.keys = [rsa_jwk(OTHER_RSA_KEY, "k2")]
    # When an hour has passed and a k1 token arrives
    clock.now += 3600
    # Then the keys are refreshed and k1 is no longer trusted
    assert refusal(v, rs256(claims())) == "unknown_kid"
    assert idp.fetches == 2


def test_an_unreachable_issuer_is_an_error_not_a_refusal() -> None:
    # Given an issuer whose JWKS cannot be fetched on a cold start
    idp = FakeIdp(down=True)
    # When a token is verified / Then it is our failure (5xx), not the caller's (401)
    with pytest.raises(KeySetUnavailable):
        verifier(idp).verify(rs256(claims()))


def test_an_issuer_down_at_cold_start_stays_an_error_until_it_is_back() -> None:
    # Given a cold start whose JWKS fetch failed
    idp, clock = FakeIdp(down=True), FakeClock()
    v = verifier(idp, clock)
    with pytest.raises(KeySetUnavailable):
        v.verify(rs256(claims()))
    # When more requests arrive within the cooldown
    # Then they are still our failure (never a 401 for "unknown key"), without hammering the issuer
    with pytest.raises(KeySetUnavailable):
        v.verify(rs256(claims()))
    assert idp.fetches == 1
    # And once the issuer is back and the cooldown has passed, tokens verify
    idp.down = False
    clock.now += 30
    assert v.verify(rs256(claims())).subject == "c-001"
    assert idp.fetches == 2


def test_the_last_good_keys_serve_while_the_issuer_is_down() -> None:
    # Given a verifier with keys, an hour later, and the issuer down
    idp, clock = FakeIdp(), FakeClock()
    v = verifier(idp, clock)
    v.verify(rs256(claims()))
    clock.now += 3600
    idp.down = True
    # When tokens signed with a cached key arrive / Then they are still verified, and the issuer is
    # asked again only after the cooldown
    assert v.verify(rs256(claims())).subject == "c-001"
    assert v.verify(rs256(claims())).subject == "c-001"
    assert idp.fetches == 2


def test_a_jwks_without_keys_is_unavailable() -> None:
    v = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=KeySet(JWKS_URL, lambda url: {"not": "a jwks"}))
    with pytest.raises(KeySetUnavailable):
        v.verify(rs256(claims()))


# --- the authorizer's answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer abc.def.ghi", "abc.def.ghi"), ("abc.def.ghi", "abc.def.ghi")],
)
def test_bearer_token_takes_the_token_with_or_without_the_scheme(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer a.b.c d"])
def test_a_missing_or_odd_authorization_header_is_malformed(header: str | None) -> None:
    with pytest.raises(InvalidToken):
        bearer_token(header)


def test_the_allow_policy_covers_the_stage_and_carries_the_caller() -> None:
    # Given a verified operator
    identity = Identity(subject="op-1", groups=("approvers", "operators"))
    # When the policy is built for one method
    policy = allow_policy(identity, METHOD_ARN)
    # Then it allows every method of that stage (so a cached answer serves every route)
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:ap-southeast-1:123456789012:abc123/prod/*",
    }
    assert policy["principalId"] == "op-1"
    # And its context (strings only) is what the handlers read into a Caller
    assert policy["context"] == {"sub": "op-1", "groups": "approvers,operators"}
    caller = Caller.from_authorizer(policy["context"])
    assert caller.subject == "op-1" and caller.is_operator


@pytest.mark.parametrize("arn", ["", "not-an-arn", "arn:aws:lambda:eu-west-1:1:function:x/y/z"])
def test_the_allow_policy_needs_a_method_arn(arn: str) -> None:
    with pytest.raises(ValueError):
        allow_policy(Identity("c-001", ()), arn)


def test_the_verifier_is_configured_from_the_settings() -> None:
    # Given the settings CDK sets, without a JWKS URL
    settings = Settings(jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_groups_claim="roles")
    idp = FakeIdp()
    # When the verifier is built
    v = verifier_from_settings(settings, fetch=idp)
    # Then the JWKS is the issuer's well-known one, and tokens verify
    assert v.keys.url == JWKS_URL
    assert v.groups_claim == "roles"
    assert v.verify(rs256(claims(roles=["operators"]))).groups == ("operators",)


def test_the_group_map_comes_from_the_settings_as_json() -> None:
    # Given the group map as CDK sets it in the environment (JSON text)
    settings = Settings.model_validate({"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_group_map": '{"LOYALTY-OPS": "operators"}'})
    # When the verifier is built / Then it maps the IdP's names
    v = verifier_from_settings(settings, fetch=FakeIdp())
    assert v.group_map == {"LOYALTY-OPS": "operators"}
    assert v.verify(rs256(claims(groups=["LOYALTY-OPS", "operators"]))).groups == ("operators",)
    # And without one, names are taken as ours
    assert verifier_from_settings(Settings.model_validate({"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_group_map": ""})).group_map is None


def test_the_verifier_refuses_to_start_unconfigured() -> None:
    with pytest.raises(RuntimeError):
        verifier_from_settings(Settings(jwt_issuer=ISSUER))


@pytest.mark.parametrize("url", ["http://idp.bank.example/.well-known/jwks.json", "file:///etc/passwd"])
def test_the_jwks_is_only_ever_fetched_over_https(url: str) -> None:
    # Given a JWKS URL that is not https / When it is fetched / Then nothing is requested
    with pytest.raises(KeySetUnavailable):
        fetch_jwks(url)
