"""The Volumes section of `kubectl describe pod`: the common kinds as kubectl prints them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcrash.cluster.describe.fields import Writer, as_list, as_map, as_str, go_bool


def describe_volumes(w: Writer, volumes: list[Any]) -> None:
    if not volumes:
        w.write(0, "Volumes:\t<none>\n")
        return
    w.write(0, "Volumes:\n")
    for volume in volumes:
        w.write(1, f"{as_str(volume, 'name')}:\n")
        w.write(2, _volume_source(volume))


def _optional(ref: Mapping[str, Any]) -> str:
    return go_bool(ref.get("optional"))


def _volume_source(volume: Mapping[str, Any]) -> str:
    """The lines kubectl prints for the common volume kinds; others by their kind alone."""
    if as_map(volume, "emptyDir") or "emptyDir" in volume:
        empty = as_map(volume, "emptyDir")
        return (
            "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
            f"    Medium:\t{as_str(empty, 'medium')}\n"
            f"    SizeLimit:\t{as_str(empty, 'sizeLimit') or '<unset>'}\n"
        )
    if as_map(volume, "hostPath"):
        host = as_map(volume, "hostPath")
        return (
            "Type:\tHostPath (bare host directory volume)\n"
            f"    Path:\t{as_str(host, 'path')}\n    HostPathType:\t{as_str(host, 'type') or '<none>'}\n"
        )
    if as_map(volume, "secret"):
        secret = as_map(volume, "secret")
        return (
            "Type:\tSecret (a volume populated by a Secret)\n"
            f"    SecretName:\t{as_str(secret, 'secretName')}\n    Optional:\t{_optional(secret)}\n"
        )
    if as_map(volume, "configMap"):
        config = as_map(volume, "configMap")
        return (
            "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
            f"    Name:\t{as_str(config, 'name')}\n    Optional:\t{_optional(config)}\n"
        )
    if as_map(volume, "persistentVolumeClaim"):
        claim = as_map(volume, "persistentVolumeClaim")
        return (
            "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n"
            f"    ClaimName:\t{as_str(claim, 'claimName')}\n    ReadOnly:\t{go_bool(claim.get('readOnly'))}\n"
        )
    if as_map(volume, "projected"):
        return _projected(as_map(volume, "projected"))
    if as_map(volume, "downwardAPI"):
        text = "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n"
        for item in as_list(as_map(volume, "downwardAPI"), "items"):
            field = as_str(as_map(item, "fieldRef"), "fieldPath") or as_str(
                as_map(item, "resourceFieldRef"), "resource"
            )
            text += f"      {field} -> {as_str(item, 'path')}\n"
        return text
    kinds = [key for key in volume if key != "name"]
    return f"Type:\t{kinds[0] if kinds else '<unknown>'}\n"


def _projected(projected: Mapping[str, Any]) -> str:
    text = "Type:\tProjected (a volume that contains injected data from multiple sources)\n"
    for source in as_list(projected, "sources"):
        if as_map(source, "secret"):
            secret = as_map(source, "secret")
            text += f"    SecretName:\t{as_str(secret, 'name')}\n    Optional:\t{_optional(secret)}\n"
        elif "downwardAPI" in source:
            text += "    DownwardAPI:\ttrue\n"
        elif as_map(source, "configMap"):
            config = as_map(source, "configMap")
            text += f"    ConfigMapName:\t{as_str(config, 'name')}\n    Optional:\t{_optional(config)}\n"
        elif as_map(source, "serviceAccountToken"):
            seconds = as_map(source, "serviceAccountToken").get("expirationSeconds")
            text += f"    TokenExpirationSeconds:\t{seconds}\n"
    return text
