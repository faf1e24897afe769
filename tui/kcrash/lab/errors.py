"""Kubernetes `Status` error bodies, worded exactly as kube-apiserver words them.

Clients match on these texts (kubectl prints them verbatim, client libraries switch on `reason`), so
the messages follow k8s.io/apimachinery/pkg/api/errors and the apiserver's authorization filter.
"""

from __future__ import annotations

from typing import Any

Details = dict[str, Any]


class ApiError(Exception):
    """An error the server answers with a Status object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Details | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code: int, reason: str, message: str, details: Details | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:  # an error the apiserver gives no reason (a plain 500) has no key
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def success_status(details: Details | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    return body


def qualified(resource: str, group: str) -> str:
    """GroupResource.String(): `pods`, `deployments.apps`."""
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> Details:
    details: Details = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(resource, group)} "{name}" not found', _details(name, group, resource)
    )


def page_not_found() -> ApiError:
    """What the apiserver says for a path under a known group version that serves nothing."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(name, group, resource),
    )


def uid_precondition_failed(kind: str, group: str, name: str, wanted: str, actual: str) -> ApiError:
    """rest.BeforeDelete's early check; it names the Kind, not the resource (upstream quirk)."""
    why = (
        f"the UID in the precondition ({wanted}) does not match the UID in record ({actual}). "
        "The object might have been deleted and then recreated"
    )
    return conflict(kind, group, name, why)


def modified_conflict(resource: str, group: str, name: str) -> ApiError:
    why = "the object has been modified; please apply your changes to the latest version and try again"
    return conflict(resource, group, name, why)


def forbidden(
    user: str, verb: str, resource: str, group: str, namespace: str, name: str = "", subresource: str = ""
) -> ApiError:
    full = f"{resource}/{subresource}" if subresource else resource
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    why = f'User "{user}" cannot {verb} resource "{full}" in API group "{group}" {where}'
    target = qualified(resource, group)
    message = f'{target} "{name}" is forbidden: {why}' if name else f"{target} is forbidden: {why}"
    return ApiError(403, "Forbidden", message, _details(name, group, resource))


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    )


def not_acceptable(accepted: str) -> ApiError:
    return ApiError(
        406,
        "NotAcceptable",
        f"only the following media types are accepted: {accepted}",
    )


def unsupported_media_type(content_type: str, accepted: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
        {},
    )


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 with field causes: `Deployment.apps "x" is invalid: spec.replicas: Invalid value: ...`.

    `causes` are (field, message) pairs; the message already carries "Invalid value: ..." or
    "Required value" the way field.Error renders it.
    """
    rendered = [f"{field}: {msg}" for field, msg in causes]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    details = _details(name, group, kind)
    details["causes"] = [
        {"reason": _cause_reason(msg), "message": msg, "field": field} for field, msg in causes
    ]
    return ApiError(422, "Invalid", f'{qualified(kind, group)} "{name}" is invalid: {summary}', details)


def _cause_reason(message: str) -> str:
    if message.startswith("Required value"):
        return "FieldValueRequired"
    if message.startswith("Forbidden"):
        return "FieldValueForbidden"
    if message.startswith("Unsupported value"):
        return "FieldValueNotSupported"
    return "FieldValueInvalid"


def unprocessable(message: str) -> ApiError:
    """A patch that cannot be applied (the apiserver's generic 422 for JSON patch failures)."""
    return ApiError(422, "Invalid", message, {})


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_old_resource_version(requested: int, oldest: int) -> ApiError:
    return expired(f"too old resource version: {requested} ({oldest})")


def too_large_resource_version(requested: int, current: int) -> ApiError:
    """storage.NewTooLargeResourceVersionError: a version the server has not reached yet."""
    return ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {requested}, current: {current}",
        {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
    )


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        {"retryAfterSeconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def reasonless(code: int, message: str) -> ApiError:
    """What an apiserver answers for an error of no API kind: a status with only code and message."""
    return ApiError(code, "", message)


def internal(message: str) -> ApiError:
    return ApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def service_unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)
