"""Every check can fail: each reference-server fault (a mutant) is caught by the requirement it
breaks, with a message that names the requirement, its source, and the exchanges; and every
reference server passes every requirement."""

from __future__ import annotations

import pytest

from conformance.checks.catalog import REGISTRY
from conformance.model.spec import load_profiles
from conformance.servers import PROFILES

from .fixtures.reference import Harness

# (profile, fault, requirement that must catch it, verdict: "fail" for MUST, "warning" for advice;
# "pass" for a fault that is one of two readings of the document, which the requirement must accept)
MUTANTS: list[tuple[str, str, str, str]] = [
    ("yixin", "code_reusable", "YX-CODE-SINGLE-USE", "fail"),
    ("yixin", "wrong_error_code", "YX-BAD-CODE", "fail"),
    ("yixin", "expires_in_string", "YX-EXCHANGE-CODE-RESPONSE", "fail"),
    ("yixin", "no_refresh_token", "YX-EXCHANGE-CODE-RESPONSE", "fail"),
    ("yixin", "crash_on_missing", "YX-EXCHANGE-CODE-CLIENT_ID-REQUIRED", "fail"),
    ("yixin", "unknown_grant_invalid_request", "YX-UNSUPPORTED-GRANT", "fail"),
    ("yixin", "unknown_client_accepted", "YX-UNKNOWN-CLIENT", "fail"),
    ("yixin", "garbage_refresh_accepted", "YX-BAD-REFRESH-TOKEN", "fail"),
    ("yixin", "expires_in_epoch", "YX-EXPIRES-IN-SECONDS", "fail"),
    ("yixin", "expires_in_epoch", "YX-REFRESH-EXPIRES-IN-SECONDS", "fail"),
    ("usercenter", "refresh_same_access_token", "UC-REFRESH-NEW-ACCESS-TOKEN", "warning"),
    ("yixin", "error_status_200", "YX-ERROR-STATUS", "warning"),
    ("everydo", "refresh_reusable", "EV-REFRESH-SINGLE-USE", "fail"),
    ("everydo", "code_reusable", "EV-CODE-SINGLE-USE", "warning"),
    ("everydo", "no_refrash_token", "EV-PASSWORD-RESPONSE", "fail"),
    ("everydo", "refresh_field_spelled_refresh_token", "EV-PASSWORD-RESPONSE", "fail"),
    ("everydo", "crash_on_missing", "EV-PASSWORD-USERNAME-REQUIRED", "fail"),
    ("everydo", "wrong_password_accepted", "EV-BAD-PASSWORD", "fail"),
    ("everydo", "authorize_no_code", "EV-AUTHORIZE-RESPONSE", "fail"),
    ("everydo", "unknown_grant_accepted", "EV-UNSUPPORTED-GRANT", "warning"),
    ("usercenter", "result_object", "UC-TOKEN-BY-PASSWORD-RESPONSE", "fail"),
    ("usercenter", "status_string", "UC-TOKEN-BY-PASSWORD-RESPONSE", "fail"),
    ("usercenter", "destroy_noop", "UC-DESTROY-REVOKES", "fail"),
    ("usercenter", "validate_code_reusable", "UC-VALIDATE-CODE-SINGLE-USE", "warning"),
    ("usercenter", "missing_username_accepted", "UC-TOKEN-BY-PASSWORD-USERNAME-REQUIRED", "fail"),
    ("usercenter", "crash_on_bad_json", "UC-MALFORMED-BODY", "warning"),
    ("usercenter", "garbage_refresh_accepted", "UC-BAD-REFRESH-TOKEN", "fail"),
    ("usercenter", "check_accepts_garbage", "UC-CHECK-TOKEN-REJECTS-UNKNOWN", "fail"),
    ("ekuaibao", "verify_code_reusable", "EK-VERIFY-CODE-SINGLE-USE", "fail"),
    ("ekuaibao", "verify_code_never_expires", "EK-VERIFY-CODE-LIFETIME", "fail"),
    ("ekuaibao", "expire_time_seconds", "EK-EXPIRY-MS", "fail"),
    ("ekuaibao", "default_30_days", "EK-EXPIRY-DEFAULT-32D", "fail"),
    ("ekuaibao", "unclamped", "EK-CUSTOM-EXPIRY-CLAMPED", "fail"),
    ("ekuaibao", "empty_expire_date_accepted", "EK-CUSTOM-EXPIRY-EMPTY", "fail"),
    ("ekuaibao", "refresh_no_rotate", "EK-REFRESH-ROTATES", "fail"),
    ("ekuaibao", "refresh_keeps_refresh_token", "EK-REFRESH-ROTATES", "fail"),
    ("ekuaibao", "refresh_after_expiry", "EK-REFRESH-EXPIRED-REJECTED", "fail"),
    ("ekuaibao", "old_refresh_accepted", "EK-OLD-REFRESH-REJECTED", "warning"),
    ("ekuaibao", "flat_body", "EK-GET-TOKEN-RESPONSE", "fail"),
    ("generic", "code_reusable", "GN-CODE-SINGLE-USE", "fail"),
    ("generic", "state_dropped", "GN-STATE-ECHOED", "fail"),
    ("generic", "state_dropped", "GN-IMPLICIT-STATE-ECHOED", "fail"),
    ("generic", "no_store_missing", "GN-NO-STORE", "fail"),
    ("generic", "unknown_client_invalid_request", "GN-UNKNOWN-CLIENT", "fail"),
    ("generic", "error_status_200", "GN-ERROR-STATUS", "fail"),
    ("generic", "redirect_uri_not_compared", "GN-REDIRECT-URI-MATCH", "fail"),
    ("generic", "implicit_in_query", "GN-IMPLICIT-FRAGMENT", "warning"),
    ("generic", "garbage_refresh_accepted", "GN-BAD-REFRESH", "fail"),
    ("generic", "no_token_type", "GN-PASSWORD-RESPONSE", "fail"),
    ("generic", "unknown_grant_invalid_request", "GN-UNSUPPORTED-GRANT", "fail"),
    ("generic", "scope_widened_on_refresh", "GN-REFRESH-SCOPE-NOT-WIDENED", "fail"),
    # Issue 11: every statement of the vendor documents, at the level the document gives it.
    ("everydo", "expires_in_string", "EV-EXAMPLE-TYPES", "warning"),
    ("everydo", "authorize_get_only", "EV-AUTHORIZE-POST", "fail"),
    ("everydo", "access_token_post_only", "EV-ACCESS-TOKEN-GET", "fail"),
    ("everydo", "code_param_misnamed", "EV-AUTHORIZE-REDIRECT", "fail"),
    ("everydo", "redirect_ignores_uri", "EV-AUTHORIZE-REDIRECT", "fail"),
    ("everydo", "refresh_same_access_token", "EV-REFRESH-NEW-ACCESS-TOKEN", "fail"),
    ("everydo", "authorize_unknown_client_accepted", "EV-AUTHORIZE-UNKNOWN-CLIENT", "fail"),
    ("usercenter", "validate_code_any_accepted", "UC-BAD-VALIDATE-CODE", "fail"),
    ("usercenter", "unknown_user_accepted", "UC-UNKNOWN-USER", "fail"),
    ("usercenter", "temp_token_accepts_garbage", "UC-TEMP-TOKEN-REJECTS-UNKNOWN", "fail"),
    ("usercenter", "get_user_accepts_garbage", "UC-GET-USER-REJECTS-UNKNOWN", "fail"),
    ("usercenter", "table_spelling_only", "UC-CHECK-TOKEN-SPELLING", "warning"),
    ("usercenter", "table_spelling_only", "UC-GET-USER-SPELLING", "warning"),
    ("usercenter", "table_spelling_only", "UC-TEMP-TOKEN-SPELLING", "warning"),
    ("ekuaibao", "constant_access_token", "EK-TOKEN-RANDOM", "fail"),
    ("ekuaibao", "refresh_default_30_days", "EK-REFRESH-DEFAULT-32D", "fail"),
    ("ekuaibao", "verify_code_per_endpoint", "EK-VERIFY-CODE-SINGLE-USE-ACROSS", "warning"),
    ("ekuaibao", "refresh_custom_after_expiry", "EK-REFRESH-CUSTOM-EXPIRED-REJECTED", "warning"),
    ("ekuaibao", "corporation_id_varies", "EK-CORPORATION-ID-STABLE", "warning"),
    ("ekuaibao", "null_string_accepted", "EK-CUSTOM-EXPIRY-NULL-STRING", "warning"),
    ("ekuaibao", "nonpositive_days_default", "EK-CUSTOM-EXPIRY-NONPOSITIVE", "warning"),
    ("generic", "authorize_requires_redirect_uri", "GN-AUTHORIZE-DEFAULT-REDIRECT", "fail"),
    ("generic", "implicit_requires_redirect_uri", "GN-IMPLICIT-DEFAULT-REDIRECT", "fail"),
    ("generic", "refresh_same_access_token", "GN-REFRESH-NEW-ACCESS-TOKEN", "fail"),
    ("generic", "client_credentials_ignores_secret", "GN-CLIENT-CREDENTIALS-WRONG-SECRET", "fail"),
    ("yixin", "wrong_secret_accepted", "YX-WRONG-SECRET", "fail"),
    ("yixin", "new_code_keeps_tokens", "YX-NEW-CODE-ENDS-TOKENS", "fail"),
    ("yixin", "tokens_never_expire", "YX-TOKEN-EXPIRES", "fail"),
    ("ekuaibao", "tokens_never_expire", "EK-TOKEN-EXPIRES", "fail"),
    ("generic", "tokens_never_expire", "GN-TOKEN-EXPIRES", "fail"),
    # The other reading of an inconsistent line: accepted (tests/test_readings.py runs whole profiles).
    ("usercenter", "check_status_1_negative", "UC-CHECK-TOKEN-REJECTS-UNKNOWN", "pass"),
    ("usercenter", "table_spelling_only", "UC-CHECK-TOKEN-RESPONSE", "pass"),
    ("yixin", "wrong_secret_invalid_request", "YX-WRONG-SECRET", "pass"),
    ("yixin", "wrong_secret_invalid_request", "YX-ERRORS-EXCHANGE", "pass"),
    # Issue 17: readings the documents allow (each whole profile runs under each in tests/test_readings.py).
    ("usercenter", "check_status_1_negative", "UC-CHECK-TOKEN-ACCESSTOKEN-REQUIRED", "pass"),
    ("usercenter", "destroy_revokes_all", "UC-DESTROY-REVOKES", "pass"),
    ("usercenter", "destroy_revokes_all", "UC-LIFECYCLE", "pass"),
    ("usercenter", "refusal_http_401", "UC-GET-USER-REJECTS-UNKNOWN", "pass"),
    ("generic", "implicit_in_query", "GN-IMPLICIT-RESPONSE", "pass"),
    ("generic", "implicit_in_query", "GN-IMPLICIT-STATE-ECHOED", "pass"),
    ("ekuaibao", "expiry_day_boundary", "EK-EXPIRY-DEFAULT-32D", "pass"),
    ("ekuaibao", "expiry_day_boundary", "EK-CUSTOM-EXPIRY-CLAMPED", "pass"),
    ("ekuaibao", "feature_expires_soon", "EK-EXPIRY-DEFAULT-32D", "pass"),
    ("ekuaibao", "feature_expires_soon", "EK-REFRESH-DEFAULT-32D", "pass"),
    # Issue 17: checks that passed what they should fail.
    ("ekuaibao", "refuses_beyond_feature", "EK-CUSTOM-EXPIRY-CLAMPED", "fail"),
    ("ekuaibao", "refuses_beyond_feature", "EK-REFRESH-CUSTOM-CLAMPED", "fail"),
    ("ekuaibao", "second_refresh_refused", "EK-REFRESH-ROTATES", "fail"),
    ("ekuaibao", "second_refresh_refused", "EK-REFRESH-CUSTOM-ROTATES", "fail"),
    ("everydo", "second_refresh_refused", "EV-REFRESH-SINGLE-USE", "fail"),
    ("generic", "empty_access_token", "GN-PASSWORD-RESPONSE", "fail"),
    ("generic", "redirects_elsewhere", "GN-AUTHORIZE-RESPONSE", "fail"),
    ("usercenter", "destroy_leaves_check_valid", "UC-DESTROY-REVOKES", "fail"),
    ("usercenter", "destroy_leaves_check_valid", "UC-LIFECYCLE", "fail"),
    # A refusal with the documented signal but a 5xx status: no document states the status, so advice.
    ("usercenter", "failure_http_500", "UC-BAD-REFRESH-TOKEN", "warning"),
    ("usercenter", "failure_http_500", "UC-CHECK-TOKEN-REJECTS-UNKNOWN", "warning"),
    # The same faults, seen by the Hypothesis properties that generalise the single checks.
    ("ekuaibao", "crash_on_non_numeric", "EK-CUSTOM-EXPIRY-CLAMPED", "fail"),
    ("ekuaibao", "unclamped", "EK-REFRESH-CUSTOM-CLAMPED", "fail"),
    ("ekuaibao", "empty_expire_date_accepted", "EK-REFRESH-CUSTOM-EMPTY", "fail"),
    ("ekuaibao", "refresh_no_rotate", "EK-REFRESH-CUSTOM-ROTATES", "fail"),
    ("ekuaibao", "power_code_optional", "EK-MALFORMED-REFUSED", "fail"),
    ("ekuaibao", "power_code_optional", "EK-GET-TOKEN-POWERCODE-REQUIRED", "fail"),
    ("ekuaibao", "refresh_ignores_access_token", "EK-MALFORMED-REFRESH-REFUSED", "warning"),
    ("yixin", "wrong_error_code", "YX-ERRORS-EXCHANGE", "fail"),
    ("yixin", "crash_on_missing", "YX-ERRORS-REFRESH", "fail"),
    ("yixin", "unknown_client_accepted", "YX-ERRORS-REFRESH", "fail"),
    ("everydo", "crash_on_missing", "EV-MALFORMED-REFUSED", "fail"),
    ("everydo", "wrong_password_accepted", "EV-MALFORMED-REFUSED", "fail"),
    ("usercenter", "missing_username_accepted", "UC-MALFORMED-REFUSED", "fail"),
    ("generic", "unknown_grant_invalid_request", "GN-ERRORS-PASSWORD", "fail"),
    ("generic", "garbage_refresh_accepted", "GN-ERRORS-REFRESH", "fail"),
    ("generic", "error_status_200", "GN-ERRORS-EXCHANGE", "fail"),
    # RFC 6749 / 7636 / 7009 / 7662.
    ("rfc6749", "no_store_missing", "RFC-NO-STORE", "fail"),
    ("rfc6749", "invalid_client_basic_400", "RFC-INVALID-CLIENT-BASIC", "fail"),
    ("rfc6749", "no_www_authenticate", "RFC-INVALID-CLIENT-BASIC", "fail"),
    ("rfc6749", "basic_auth_unsupported", "RFC-CLIENT-AUTH-BASIC", "fail"),
    ("rfc6749", "code_reusable", "RFC-CODE-SINGLE-USE", "fail"),
    ("rfc6749", "code_reuse_keeps_tokens", "RFC-CODE-REUSE-REVOKES", "warning"),
    ("rfc6749", "redirect_uri_not_compared", "RFC-REDIRECT-URI-TOKEN", "fail"),
    ("rfc6749", "redirects_to_unregistered", "RFC-REDIRECT-URI-AUTHORIZE", "fail"),
    ("rfc6749", "error_not_redirected", "RFC-ERROR-REDIRECT", "fail"),
    ("rfc6749", "state_dropped", "RFC-STATE-ECHOED", "fail"),
    ("rfc6749", "implicit_in_query", "RFC-IMPLICIT-FRAGMENT", "fail"),
    ("rfc6749", "pkce_not_verified", "RFC-PKCE-S256", "fail"),
    ("rfc6749", "scope_widened_on_refresh", "RFC-REFRESH-SCOPE", "fail"),
    ("rfc6749", "revoked_token_active", "RFC-REVOKE", "fail"),
    ("rfc6749", "introspect_garbage_error", "RFC-INTROSPECT-ACTIVE", "fail"),
    ("rfc6749", "refresh_not_rotated", "RFC-REFRESH-ROTATION", "warning"),
    ("rfc6749", "unknown_grant_invalid_request", "RFC-UNSUPPORTED-GRANT", "fail"),
    ("rfc6749", "no_token_type", "RFC-PASSWORD-RESPONSE", "fail"),
    ("rfc6749", "code_reusable", "RFC-LIFECYCLE", "fail"),
    ("rfc6749", "tokens_never_expire", "RFC-TOKEN-EXPIRES", "fail"),
    # What the target does not offer (here: a made-up grant or response type) it refuses with the RFC's codes.
    ("rfc6749", "unknown_grant_invalid_request", "RFC-UNOFFERED-GRANT-REFUSED", "fail"),
    ("rfc6749", "error_not_redirected", "RFC-UNOFFERED-RESPONSE-TYPE-REFUSED", "fail"),
    ("rfc6749", "code_not_bound_to_client", "RFC-CODE-BOUND-TO-CLIENT", "fail"),
    ("rfc6749", "refresh_not_bound_to_client", "RFC-REFRESH-BOUND-TO-CLIENT", "fail"),
    ("rfc6749", "unknown_code_invalid_request", "RFC-BAD-CODE", "fail"),
    ("rfc6749", "malformed_code_crash", "RFC-BAD-CODE", "fail"),
    ("rfc6749", "malformed_code_crash", "RFC-ERRORS-CODE", "fail"),
    ("rfc6749", "unknown_scope_granted", "RFC-UNKNOWN-SCOPE", "fail"),
    ("rfc6749", "metadata_missing_members", "RFC-METADATA-MEMBERS", "fail"),
    ("rfc6749", "metadata_wrong_issuer", "RFC-METADATA-ISSUER", "fail"),
    ("rfc6749", "introspect_without_auth", "RFC-INTROSPECT-REQUIRES-AUTH", "fail"),
    ("rfc6749", "pkce_downgrade_accepted", "RFC-PKCE-DOWNGRADE", "fail"),
    ("rfc6749", "error_description_echoes_input", "RFC-ERROR-CHARSET", "fail"),
    ("rfc6749", "code_lifetime_hour", "RFC-CODE-LIFETIME", "warning"),
    ("rfc6749", "missing_grant_type_crash", "RFC-EXCHANGE-CODE-GRANT_TYPE-REQUIRED", "fail"),
    ("rfc6749", "missing_grant_type_crash", "RFC-ERRORS-CODE", "fail"),
    # A missing grant_type is invalid_request or unsupported_grant_type (two readings of §5.2): both pass.
    ("rfc6749", "missing_grant_type_unsupported", "RFC-EXCHANGE-CODE-GRANT_TYPE-REQUIRED", "pass"),
    ("rfc6749", "missing_grant_type_unsupported", "RFC-CLIENT-CREDENTIALS-GRANT_TYPE-REQUIRED", "pass"),
    ("rfc6749", "missing_grant_type_unsupported", "RFC-ERRORS-REFRESH", "pass"),
    ("usercenter", "tokens_never_expire", "UC-TOKEN-EXPIRES", "warning"),
    # wechatweb (docs/dialects/wechatweb.txt): HTTP-200 integer errcodes, GET interfaces, openid carried between calls.
    ("wechatweb", "authorize_no_code", "WW-AUTHORIZE-RESPONSE", "fail"),
    ("wechatweb", "code_param_misnamed", "WW-REDIRECT-CODE", "fail"),
    ("wechatweb", "state_dropped", "WW-STATE-ECHOED", "fail"),
    ("wechatweb", "redirect_domain_not_checked", "WW-REDIRECT-DOMAIN", "fail"),
    ("wechatweb", "code_reusable", "WW-CODE-SINGLE-USE", "fail"),
    ("wechatweb", "code_reusable", "WW-LIFECYCLE", "fail"),
    ("wechatweb", "code_never_expires", "WW-CODE-EXPIRES", "fail"),
    ("wechatweb", "unknown_code_40163", "WW-BAD-CODE", "fail"),
    ("wechatweb", "unknown_code_40163", "WW-ERRORS-EXCHANGE", "fail"),
    ("wechatweb", "unknown_appid_accepted", "WW-UNKNOWN-APPID", "fail"),
    ("wechatweb", "unknown_appid_accepted", "WW-REFRESH-UNKNOWN-APPID", "fail"),
    ("wechatweb", "wrong_secret_accepted", "WW-WRONG-SECRET", "fail"),
    ("wechatweb", "grant_type_ignored", "WW-UNSUPPORTED-GRANT", "fail"),
    ("wechatweb", "expires_in_epoch", "WW-EXPIRES-IN-SECONDS", "fail"),
    ("wechatweb", "expires_in_epoch", "WW-REFRESH-EXPIRES-IN-SECONDS", "fail"),
    ("wechatweb", "lifetime_3600", "WW-ACCESS-TOKEN-LIFETIME", "fail"),
    ("wechatweb", "tokens_never_expire", "WW-TOKEN-EXPIRES", "fail"),
    ("wechatweb", "garbage_refresh_accepted", "WW-BAD-REFRESH-TOKEN", "fail"),
    ("wechatweb", "garbage_refresh_accepted", "WW-ERRORS-REFRESH", "fail"),
    ("wechatweb", "check_accepts_garbage", "WW-CHECK-BAD-TOKEN", "fail"),
    ("wechatweb", "check_accepts_garbage", "WW-ERRORS-CHECK", "fail"),
    ("wechatweb", "userinfo_accepts_garbage", "WW-USERINFO-BAD-TOKEN", "fail"),
    ("wechatweb", "userinfo_accepts_garbage", "WW-ERRORS-USERINFO", "fail"),
    ("wechatweb", "openid_per_grant", "WW-OPENID-STABLE", "fail"),
    ("wechatweb", "errors_status_400", "WW-ERROR-STATUS", "fail"),
    ("wechatweb", "errors_status_400", "WW-BAD-CODE", "fail"),
    ("wechatweb", "crash_on_non_ascii", "WW-ERRORS-EXCHANGE", "fail"),
    ("wechatweb", "crash_on_non_ascii", "WW-ERRORS-REFRESH", "fail"),
    ("wechatweb", "crash_on_non_ascii", "WW-ERRORS-CHECK", "fail"),
    ("wechatweb", "crash_on_non_ascii", "WW-ERRORS-USERINFO", "fail"),
    ("wechatweb", "no_openid", "WW-EXCHANGE-CODE-RESPONSE", "fail"),
    ("wechatweb", "refresh_no_scope", "WW-REFRESH-RESPONSE", "fail"),
    ("wechatweb", "check_errcode_string", "WW-CHECK-TOKEN-RESPONSE", "fail"),
    ("wechatweb", "userinfo_sex_string", "WW-USERINFO-RESPONSE", "fail"),
    ("wechatweb", "missing_appid_accepted", "WW-EXCHANGE-CODE-APPID-REQUIRED", "fail"),
    ("wechatweb", "missing_appid_accepted", "WW-REFRESH-APPID-REQUIRED", "fail"),
    ("wechatweb", "missing_secret_accepted", "WW-EXCHANGE-CODE-SECRET-REQUIRED", "fail"),
    ("wechatweb", "missing_code_40029", "WW-EXCHANGE-CODE-CODE-REQUIRED", "fail"),
    ("wechatweb", "missing_grant_type_accepted", "WW-EXCHANGE-CODE-GRANT_TYPE-REQUIRED", "fail"),
    ("wechatweb", "missing_grant_type_accepted", "WW-REFRESH-GRANT_TYPE-REQUIRED", "fail"),
    ("wechatweb", "missing_refresh_token_40030", "WW-REFRESH-REFRESH_TOKEN-REQUIRED", "fail"),
    ("wechatweb", "missing_access_token_40001", "WW-CHECK-TOKEN-ACCESS_TOKEN-REQUIRED", "fail"),
    ("wechatweb", "missing_access_token_40001", "WW-USERINFO-ACCESS_TOKEN-REQUIRED", "fail"),
    ("wechatweb", "missing_openid_accepted", "WW-CHECK-TOKEN-OPENID-REQUIRED", "fail"),
    ("wechatweb", "missing_openid_accepted", "WW-USERINFO-OPENID-REQUIRED", "fail"),
    ("wechatweb", "openid_not_checked", "WW-CHECK-BAD-OPENID", "fail"),
    ("wechatweb", "openid_not_checked", "WW-USERINFO-BAD-OPENID", "fail"),
    ("wechatweb", "refresh_token_never_expires", "WW-REFRESH-TOKEN-LIFETIME", "fail"),
    ("wechatweb", "expired_token_40001", "WW-TOKEN-EXPIRES", "fail"),
    ("wechatweb", "refresh_replaces_live_token", "WW-REFRESH-KEEPS-LIVE-TOKEN", "fail"),
    ("wechatweb", "refresh_does_not_renew", "WW-REFRESH-KEEPS-LIVE-TOKEN", "fail"),
    ("wechatweb", "refresh_refused_after_expiry", "WW-REFRESH-AFTER-EXPIRY", "fail"),
    ("wechatweb", "constant_code", "WW-CODES-DISTINCT", "fail"),
    ("wechatweb", "authorize_defaults_missing", "WW-AUTHORIZE-APPID-REQUIRED", "fail"),
    ("wechatweb", "authorize_defaults_missing", "WW-AUTHORIZE-REDIRECT_URI-REQUIRED", "fail"),
    ("wechatweb", "authorize_defaults_missing", "WW-AUTHORIZE-RESPONSE_TYPE-REQUIRED", "fail"),
    ("wechatweb", "authorize_defaults_missing", "WW-AUTHORIZE-SCOPE-REQUIRED", "fail"),
    # 40001 for a wrong secret (line 87) is the other reading of line 93: accepted.
    ("wechatweb", "wrong_secret_40001", "WW-WRONG-SECRET", "pass"),
    ("wechatweb", "wrong_secret_40001", "WW-ERRORS-EXCHANGE", "pass"),
    # The stateful lifecycle model of each profile.
    ("yixin", "code_reusable", "YX-LIFECYCLE", "fail"),
    ("everydo", "refresh_reusable", "EV-LIFECYCLE", "fail"),
    ("usercenter", "destroy_noop", "UC-LIFECYCLE", "fail"),
    ("ekuaibao", "verify_code_reusable", "EK-LIFECYCLE", "fail"),
    ("ekuaibao", "refresh_keeps_refresh_token", "EK-LIFECYCLE", "fail"),
    ("generic", "code_reusable", "GN-LIFECYCLE", "fail"),
    # --- Issue 17 (statements not tested): wrong authorization requests, and the token probe's answers ---
    ("generic", "wrong_response_type_accepted", "GN-AUTHORIZE-WRONG-RESPONSE-TYPE", "fail"),
    ("generic", "implicit_wrong_response_type_accepted", "GN-IMPLICIT-WRONG-RESPONSE-TYPE", "fail"),
    ("generic", "unknown_client_redirects_code", "GN-AUTHORIZE-UNKNOWN-CLIENT", "fail"),
    ("generic", "unknown_client_error_redirect", "GN-AUTHORIZE-UNKNOWN-CLIENT", "fail"),
    ("generic", "unknown_client_error_redirect", "GN-IMPLICIT-UNKNOWN-CLIENT", "fail"),
    ("generic", "implicit_unknown_client_redirects_token", "GN-IMPLICIT-UNKNOWN-CLIENT", "fail"),
    # An error page instead of an error redirect for a wrong response_type: RFC 6749 §4.1.2.1 allows either.
    ("generic", "wrong_response_type_error_answer", "GN-AUTHORIZE-WRONG-RESPONSE-TYPE", "pass"),
    ("generic", "wrong_response_type_error_answer", "GN-IMPLICIT-WRONG-RESPONSE-TYPE", "pass"),
    ("generic", "wrong_response_type_error_answer", "GN-AUTHORIZE-RESPONSE_TYPE-REQUIRED", "pass"),
    ("yixin", "probe_accepts_unknown", "YX-PROBE-UNKNOWN-TOKEN", "fail"),
    ("yixin", "probe_accepts_expired", "YX-PROBE-EXPIRED-TOKEN", "fail"),
    ("yixin", "probe_accepts_expired", "YX-TOKEN-EXPIRES", "fail"),
    ("yixin", "probe_wrong_error_code", "YX-PROBE-UNKNOWN-TOKEN", "fail"),
    ("yixin", "probe_wrong_error_code", "YX-PROBE-EXPIRED-TOKEN", "fail"),
    ("yixin", "probe_refuses_tokens", "YX-PROBE-ACCEPTS-TOKEN", "warning"),
    ("yixin", "probe_refuses_refreshed", "YX-PROBE-ACCEPTS-REFRESHED", "warning"),
    ("yixin", "probe_refuses_refreshed", "YX-PROBE-ACCEPTS-TOKEN", "pass"),
    # --- end of issue 17 block ---
    # --- Issue 18: races. The race_window fault (check, a 100 ms yield, then the write) is caught by each
    # race variant and missed by the sequential requirement it shadows ("pass" here: the race is what proves it).
    ("yixin", "race_window", "YX-CODE-SINGLE-USE-RACE", "fail"),
    ("yixin", "race_window", "YX-CODE-SINGLE-USE", "pass"),
    ("ekuaibao", "race_window", "EK-VERIFY-CODE-SINGLE-USE-RACE", "fail"),
    ("ekuaibao", "race_window", "EK-VERIFY-CODE-SINGLE-USE", "pass"),
    ("ekuaibao", "race_window", "EK-VERIFY-CODE-SINGLE-USE-ACROSS-RACE", "fail"),
    ("ekuaibao", "race_window", "EK-VERIFY-CODE-SINGLE-USE-ACROSS", "pass"),
    ("ekuaibao", "race_window", "EK-OLD-REFRESH-REJECTED-RACE", "warning"),
    ("ekuaibao", "race_window", "EK-OLD-REFRESH-REJECTED", "pass"),
    ("everydo", "race_window", "EV-REFRESH-SINGLE-USE-RACE", "fail"),
    ("everydo", "race_window", "EV-REFRESH-SINGLE-USE", "pass"),
    ("everydo", "race_window", "EV-CODE-SINGLE-USE-RACE", "warning"),
    ("everydo", "race_window", "EV-CODE-SINGLE-USE", "pass"),
    ("generic", "race_window", "GN-CODE-SINGLE-USE-RACE", "fail"),
    ("generic", "race_window", "GN-CODE-SINGLE-USE", "pass"),
    ("rfc6749", "race_window", "RFC-CODE-SINGLE-USE-RACE", "fail"),
    ("rfc6749", "race_window", "RFC-CODE-SINGLE-USE", "pass"),
    ("rfc6749", "race_window", "RFC-REFRESH-ROTATION-RACE", "warning"),
    ("rfc6749", "race_window", "RFC-REFRESH-ROTATION", "pass"),
    ("rfc6749", "race_window", "RFC-REVOKE-RACE", "fail"),
    ("rfc6749", "race_window", "RFC-REVOKE", "pass"),
    ("usercenter", "race_window", "UC-VALIDATE-CODE-SINGLE-USE-RACE", "warning"),
    ("usercenter", "race_window", "UC-VALIDATE-CODE-SINGLE-USE", "pass"),
    ("usercenter", "race_window", "UC-DESTROY-REVOKES-RACE", "fail"),
    ("usercenter", "race_window", "UC-DESTROY-REVOKES", "pass"),
    ("wechatweb", "race_window", "WW-CODE-SINGLE-USE-RACE", "fail"),
    ("wechatweb", "race_window", "WW-CODE-SINGLE-USE", "pass"),
    # --- end of issue 18 block ---
    # --- Issue 20 item 3: lifetimes. A credential that dies early fails (a fresh one works at once); a
    # lifetime outside 2 % of the documented one fails.
    ("ekuaibao", "verify_code_dies_early", "EK-VERIFY-CODE-LIFETIME", "fail"),
    ("ekuaibao", "token_dies_early", "EK-TOKEN-EXPIRES", "fail"),
    ("wechatweb", "code_dies_early", "WW-CODE-EXPIRES", "fail"),
    ("wechatweb", "token_dies_early", "WW-TOKEN-EXPIRES", "fail"),
    ("wechatweb", "refresh_token_dies_early", "WW-REFRESH-TOKEN-LIFETIME", "fail"),
    ("wechatweb", "lifetime_7000", "WW-ACCESS-TOKEN-LIFETIME", "fail"),
    ("yixin", "token_dies_early", "YX-TOKEN-EXPIRES", "fail"),
    ("generic", "token_dies_early", "GN-TOKEN-EXPIRES", "fail"),
    ("rfc6749", "token_dies_early", "RFC-TOKEN-EXPIRES", "fail"),
    ("usercenter", "token_dies_early", "UC-TOKEN-EXPIRES", "warning"),
    # Expiries on the nearest whole minute: a reading (tests/test_readings.py runs the whole profile).
    ("wechatweb", "expiry_whole_minutes", "WW-CODE-EXPIRES", "pass"),
    ("wechatweb", "expiry_whole_minutes", "WW-TOKEN-EXPIRES", "pass"),
    ("wechatweb", "expiry_whole_minutes", "WW-REFRESH-AFTER-EXPIRY", "pass"),
    # --- end of issue 20 block ---
]


@pytest.mark.parametrize("profile", PROFILES)
def test_reference_server_passes_every_requirement(harness: Harness, profile: str) -> None:
    verdicts = harness.run(profile)
    assert {rid: (v.status, v.reason) for rid, v in verdicts.items() if v.status != "pass"} == {}


@pytest.mark.parametrize(("profile", "fault", "requirement", "expected"), MUTANTS, ids=lambda v: str(v))
def test_mutant_is_caught(harness: Harness, profile: str, fault: str, requirement: str, expected: str) -> None:
    verdicts = harness.run(profile, {fault}, only={requirement})
    verdict = verdicts[requirement]
    assert verdict.status == expected, f"{requirement}: {verdict.status} {verdict.reason}"
    if expected == "pass":  # a reading the document allows
        return
    assert verdict.violation is not None
    assert verdict.violation.requirement.id == requirement
    assert verdict.violation.exchanges, "a violation carries the exchanges that show it"
    assert not [v for v in verdicts.values() if v.status == "error"]


def test_every_fault_has_a_mutant_test(reference) -> None:
    listed = {(p, f) for p, f, _, _ in MUTANTS}
    known = {(p, f) for p, state in reference.states.items() for f in state.known_faults}
    assert known - listed == set()


def test_should_requirements_fail_under_strict_levels(harness: Harness) -> None:
    verdicts = harness.run("rfc6749", {"refresh_not_rotated"}, only={"RFC-REFRESH-ROTATION"}, strict=True)
    assert verdicts["RFC-REFRESH-ROTATION"].status == "fail"


def test_advisory_requirements_fail_only_under_strict_levels(harness: Harness) -> None:
    """A SHOULD of the document fails under --strict-levels; advice from an RFC never does."""
    verdicts = harness.run("ekuaibao", {"old_refresh_accepted"}, only={"EK-OLD-REFRESH-REJECTED"}, strict=True)
    assert verdicts["EK-OLD-REFRESH-REJECTED"].status == "warning"


def test_every_check_has_a_mutant_that_breaks_it() -> None:
    """A check that no mutant can fail is a defect: each registered check decides a mutant row."""
    profiles = load_profiles()
    broken = {profiles[p].requirement(rid).check for p, _, rid, verdict in MUTANTS if verdict != "pass"}
    assert set(REGISTRY) - broken == set()
