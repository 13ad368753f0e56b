"""Flux v1's routes under ``/api/flux``: same paths, methods, JSON and status codes.

Handlers only check input and convert; the work is the daemon's. Quick port
methods are called directly, blocking ones through ``asyncio.to_thread`` so
a read never waits for a running sync.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import StrictBool

from fluxd.api import convert, models
from fluxd.api.errors import BadRequest, error_response
from fluxd.api.port import ALL_WORKLOADS, DaemonPort
from fluxd.errors import UserError
from fluxd.git.urls import InvalidUrl, repo_key
from fluxd.jobs import UpdateRequest
from fluxd.writeback import Cause, parse_policy_updates, parse_release
from fluxids import NAMESPACE_HELP, is_dns_label, parse_workload_id

__all__ = [
    "CONTAINER_FIELDS",
    "flux_router",
    "open_flux_router",
    "parse_namespace",
    "parse_resource_id",
]

log = logging.getLogger(__name__)

CONTAINER_FIELDS = frozenset(models.Container.model_fields)


def parse_resource_id(text: str, *, what: str) -> str:
    """``ns:kind/name`` with the kind lower-cased; Flux v1's ``ns/name`` means a Deployment."""
    try:
        return str(parse_workload_id(text))
    except ValueError as exc:
        raise BadRequest(
            f"query parameter {what!r}: {exc}",
            help="Write workload IDs as <namespace>:<kind>/<name>, e.g. default:deployment/web.",
        ) from exc


def parse_namespace(text: str) -> str:
    """The ``namespace`` query parameter: empty (all allowed) or a valid namespace."""
    if text and not is_dns_label(text):
        raise BadRequest(
            f"query parameter 'namespace': {text[:100]!r} is not a valid namespace",
            help=NAMESPACE_HELP,
        )
    return text


def flux_router(daemon: DaemonPort) -> APIRouter:
    """The versioned API routes, bound to ``daemon`` (behind the token, if any)."""
    router = APIRouter(prefix=models.API_PREFIX, tags=["flux v1"])
    _add_meta(router, daemon)
    _add_listings(router, daemon)
    _add_jobs(router, daemon)
    _add_identity(router, daemon)
    _add_deprecated(router)
    return router


def open_flux_router(daemon: DaemonPort) -> APIRouter:
    """``GET /v6/identity.pub`` without a token: Flux v1's probes call it; the key is public."""
    router = APIRouter(prefix=models.API_PREFIX, tags=["flux v1"])

    @router.get("/v6/identity.pub")
    async def public_key() -> models.PublicKey:
        config = await asyncio.to_thread(daemon.git_config, False)
        return convert.public_key(config.public_key)

    return router


def _add_meta(router: APIRouter, daemon: DaemonPort) -> None:
    @router.get("/v11/ping", status_code=204, response_class=Response)
    async def ping() -> Response:
        await asyncio.to_thread(daemon.ping)
        return Response(status_code=204)

    @router.get("/v11/version")
    async def version() -> str:
        return daemon.version

    @router.post("/v11/notify", status_code=202, response_class=Response)
    async def notify(change: models.NotifyChange) -> Response:
        if change.Kind == "git":
            _notify_git(daemon, change.Source)
        else:
            daemon.notify_image_change(_image_name(change.Source.get("Name")))
        return Response(status_code=202)

    async def export() -> str:
        # Flux v1 sent the YAML as a JSON byte array, i.e. a base64 string.
        text = await asyncio.to_thread(daemon.export)
        return base64.b64encode(text.encode()).decode("ascii")

    router.add_api_route("/v6/export", export, methods=["GET"])
    # HEAD as Flux v1 allowed it; kept out of the schema, which wants one operation per method.
    router.add_api_route("/v6/export", export, methods=["HEAD"], include_in_schema=False)


def _notify_git(daemon: DaemonPort, source: dict[str, Any]) -> None:
    url, branch = source.get("URL"), source.get("Branch")
    if not isinstance(url, str) or not isinstance(branch, str):
        raise BadRequest("body field 'Source' needs 'URL' and 'Branch' strings")
    try:
        key = repo_key(url)
    except InvalidUrl as exc:
        raise BadRequest(f"body field 'Source.URL': {exc.message}", help=exc.help) from exc
    remote = daemon.git_remote()
    # As in Flux v1: only a push to another branch of our own repo is ignored.
    if key == repo_key(remote.url) and branch != remote.branch:
        log.info("notification ignored: branch %s is not %s", branch, remote.branch)
        return
    daemon.notify_git_change(url, branch)


def _add_listings(router: APIRouter, daemon: DaemonPort) -> None:
    # Flux v1 sent a Go nil slice, i.e. null, when nothing matched.
    @router.get("/v6/services")
    async def services_v6(namespace: str = "") -> list[models.ControllerStatus] | None:
        found = await asyncio.to_thread(daemon.list_workloads, parse_namespace(namespace), [])
        return [convert.controller_status(view) for view in found] or None

    @router.get("/v11/services")
    async def services_v11(
        namespace: str = "", services: str = ""
    ) -> list[models.ControllerStatus] | None:
        ids = [parse_resource_id(s, what="services") for s in services.split(",") if s]
        namespace = parse_namespace(namespace)
        if namespace and ids:
            # 422 like Flux v1: well-formed, but a combination it cannot serve.
            raise UserError("give either query parameter 'namespace' or 'services', not both")
        found = await asyncio.to_thread(daemon.list_workloads, namespace, ids)
        return [convert.controller_status(view) for view in found] or None

    @router.get("/v6/images")
    async def images_v6(service: str = "") -> list[dict[str, Any]] | None:
        return await _images(daemon, service, "", "") or None

    @router.get("/v10/images")
    async def images_v10(
        service: str = "", containerFields: str = "", namespace: str = ""
    ) -> list[dict[str, Any]] | None:
        return await _images(daemon, service, containerFields, namespace) or None


def _image_name(name: object) -> str:
    # Flux v1 sent the name as {"Domain": ..., "Image": ...}; a plain string is taken too.
    if isinstance(name, dict):
        return "/".join(str(name[k]) for k in ("Domain", "Image") if name.get(k))
    return str(name or "")


async def _images(
    daemon: DaemonPort, service: str, fields_csv: str, namespace: str
) -> list[dict[str, Any]]:
    spec = service or ALL_WORKLOADS
    namespace = parse_namespace(namespace)
    if spec != ALL_WORKLOADS:
        spec = parse_resource_id(spec, what="service")
        if namespace:
            raise UserError("query parameter 'namespace' cannot be combined with one 'service'")
    fields = [f for f in fields_csv.split(",") if f]
    unknown = sorted(set(fields) - CONTAINER_FIELDS)
    if unknown:
        raise UserError(
            f"query parameter 'containerFields': {', '.join(unknown)} is an invalid field",
            help=f"Choose among {', '.join(sorted(CONTAINER_FIELDS))}.",
        )
    statuses = await asyncio.to_thread(daemon.list_images, spec, namespace)
    return [_image_status(convert.image_status(status), fields) for status in statuses]


def _image_status(status: models.ImageStatus, fields: list[str]) -> dict[str, Any]:
    if fields and status.Containers:
        # As Flux v1: fields not asked for are left at their zero value.
        chosen = [
            models.Container.model_validate({key: getattr(container, key) for key in fields})
            for container in status.Containers
        ]
        status = status.model_copy(update={"Containers": chosen})
    return status.model_dump(mode="json")


def _add_jobs(router: APIRouter, daemon: DaemonPort) -> None:
    @router.post("/v9/update-manifests")
    async def update_manifests(spec: models.UpdateSpec) -> str:
        if spec.type == "sync":
            return daemon.start_sync_job()
        cause = Cause(message=spec.cause.Message, user=spec.cause.User)
        if spec.type == "policy":
            policies = parse_policy_updates(spec.spec)
            return daemon.start_update_job(UpdateRequest(cause, policies=policies))
        if spec.type == "image":
            release = parse_release(spec.spec)
            request = UpdateRequest(cause, release=release)
            if release.kind == "plan":
                # As Flux v1: a plan is worked out within the request.
                return await daemon.plan_update(request)
            return daemon.start_update_job(request)
        raise UserError(
            f"update type {spec.type!r} is not supported",
            help=(
                "fluxd carries out 'sync', 'image' (fluxctl release) and 'policy' "
                "(fluxctl policy, lock, automate, ...) updates; 'containers' and 'auto' "
                "are not implemented."
            ),
        )

    # Empty values are served as Flux v1 did: no job has the empty ID (404);
    # the empty ref is the branch HEAD.
    @router.get("/v6/jobs")
    async def job_status(job_id: Annotated[str, Query(alias="id")]) -> models.JobStatus:
        return convert.job_status(daemon.job_status(job_id))

    @router.get("/v6/sync")
    async def sync_status(ref: str) -> list[str]:
        return await asyncio.to_thread(daemon.sync_status, ref)

    @router.get("/v11/sync-errors")
    async def sync_errors(ref: str = "") -> models.SyncErrors:
        return convert.sync_errors(daemon.sync_errors(ref or None))


def _add_identity(router: APIRouter, daemon: DaemonPort) -> None:
    @router.post("/v9/git-repo-config")
    async def git_repo_config(regenerate: Annotated[StrictBool, Body()]) -> models.GitConfig:
        return convert.git_config(await asyncio.to_thread(daemon.git_config, regenerate))

    @router.post("/v6/identity.pub", status_code=204, response_class=Response)
    async def regenerate_key() -> Response:
        await asyncio.to_thread(daemon.git_config, True)
        return Response(status_code=204)


def _add_deprecated(router: APIRouter) -> None:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    async def gone(request: Request) -> Response:
        return error_response(
            410,
            "missing",
            f"API endpoint deprecated: {request.url.path}",
            "This API version is no longer served; use a newer fluxctl.",
        )

    for version in ("v1", "v2", "v3", "v4", "v5"):
        router.add_api_route(
            f"/{version}/{{rest:path}}", gone, methods=methods, include_in_schema=False
        )
