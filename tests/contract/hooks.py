"""Schemathesis checks of TaskForce's own (loaded with SCHEMATHESIS_HOOKS).

`foreign_token_is_refused`: in the cross-tenant run every request carries a
valid token of tenant alpha while addressing tenant beta's host. Every
operation that needs a token must answer 401 (the token names another
tenant) or 404 (what was asked is not beta's), never anything else; a
method the path does not have is 405 for everyone.
"""

import schemathesis


@schemathesis.check
def foreign_token_is_refused(ctx, response, case):
    secured = bool(case.operation.definition.raw.get("security"))
    # a method the path does not have (TRACE, …) is 405 for everyone
    documented = case.method.upper() == case.operation.method.upper()
    if secured and documented and response.status_code not in (401, 404):
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code} "
            "to another tenant's token (expected 401 or 404)"
        )
