"""Evidence: files (damage photos, proofs of delivery, survey reports) attached to a
shipment's incident, claim or handover, or to a relationship's interaction, and read back.

An upload is stored by its SHA-256 (``application.evidence``), then attached by a command
whose event records the hash, size, media type, file name and who attached it, so the log's
hash chain covers the evidence. The type is read from the file's first bytes: JPEG, PNG,
WEBP, PDF or TIFF, else 415 (also when the declared type says otherwise); larger than
``$FULLCHAIN_EVIDENCE_MAX_BYTES`` (20 MiB): 413."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, HTTPException, Path, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import Field

from application.commands import CommandResult
from application.evidence import (
    MediaType,
    StoredFile,
    contradicts,
    max_bytes,
    sha256_hex,
    sniff,
)
from application.tokens import StaffMember
from domain.evidence import EvidenceTarget
from interface.http.commands import accepted
from interface.http.deps import (
    Allowed,
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    Reads,
    ServicesDep,
    context,
    fresh,
)
from interface.http.errors import FieldError, problem, responses
from interface.http.permissions import CLAIMS, HANDOVERS, READ, WORK
from interface.http.routing import OneTripRoute
from interface.runtime import Services
from projections.responsibility_audit.queries import attached_file

router = APIRouter(route_class=OneTripRoute, tags=["evidence"])

RESPONSIBILITY_AUDIT = "responsibility_audit"

UPLOAD_ERRORS = responses(401, 404, 409, 412, 413, 415, 422)

Upload = Annotated[
    UploadFile,
    File(description="The file: JPEG, PNG, WEBP, PDF or TIFF, as its first bytes say"),
]
Sha256 = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256, 64 lower-case hex")
]
HandoverNumber = Annotated[
    int,
    Path(
        ge=1,
        le=1000,
        description="The handover into link k; one past the last link: the delivery to the "
        "consignee (its proof of delivery)",
    ),
]


#: An upload carries no command fields: it happens now, in a conversation of its own.
NO_META = CommandMeta.model_validate({})


class AttachmentAccepted(CommandAccepted):
    sha256: str = Field(description="The file's name in the evidence store")
    size: int
    media_type: str
    stored: bool = Field(description="False: the store held these bytes already")


def _refused(status: int, title: str, detail: str, kind: str) -> JSONResponse:
    return problem(
        status, title, detail, kind=kind, errors=[FieldError(field="file", reason=detail)]
    )


def _store(s: Services, file: UploadFile) -> tuple[StoredFile, MediaType] | JSONResponse:
    """The upload, checked and stored; or the refusal (413, 415, 422)."""
    limit = max_bytes()
    data = file.file.read(limit + 1)
    if len(data) > limit:
        return problem(
            413, "File too large", f"evidence files are limited to {limit} bytes", kind="too-large"
        )
    if not data:
        return _refused(422, "Invalid input", "the file is empty", "invalid-input")
    kind = sniff(data)
    if kind is None:
        return _refused(
            415,
            "Unsupported file type",
            "a JPEG, PNG, WEBP, PDF or TIFF file, as its first bytes say",
            "unsupported-media-type",
        )
    if contradicts(file.content_type, kind):
        return _refused(
            415,
            "Unsupported file type",
            f"declared as {file.content_type!r}, but its bytes are {kind.value}",
            "unsupported-media-type",
        )
    return s.app.evidence.put(data), kind


def _answer(
    response: Response, result: CommandResult, stored: StoredFile, kind: MediaType
) -> AttachmentAccepted:
    return AttachmentAccepted(
        **accepted(response, result).model_dump(),
        sha256=stored.sha256,
        size=stored.size,
        media_type=kind.value,
        stored=stored.written,
    )


def _file_name(file: UploadFile, stored: StoredFile) -> str:
    return (file.filename or "").strip() or stored.sha256


_DESCRIPTION = (
    "Multipart upload of one `file`. Stored by its SHA-256, then attached by a command "
    "(Idempotency-Key, If-Match as every command) whose event records the hash, size, media "
    "type, file name and who attached it. 413 beyond $FULLCHAIN_EVIDENCE_MAX_BYTES (default "
    "20 MiB); 415 for a type other than JPEG, PNG, WEBP, PDF or TIFF by the file's first "
    "bytes, or a declared type the bytes contradict; 422 without a file. "
)


@router.post(
    "/v1/shipments/{shipment_id}/incidents/{incident_id}/attachments",
    summary="Attach evidence to an incident",
    description=_DESCRIPTION + "409 `incident.resolved`: a resolved incident's evidence is "
    "what it was resolved on. Staff of a branch that runs the incident's link attach to it "
    "too.",
    response_model=AttachmentAccepted,
    responses=UPLOAD_ERRORS,
)
def attach_to_incident(
    shipment_id: UUID,
    incident_id: UUID,
    file: Upload,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> AttachmentAccepted | JSONResponse:
    checked = _store(s, file)
    if isinstance(checked, JSONResponse):
        return checked
    stored, kind = checked
    result = s.app.shipments.attach_evidence(
        context(request, staff, NO_META),
        shipment_id,
        target=EvidenceTarget.INCIDENT,
        target_id=str(incident_id),
        sha256=stored.sha256,
        size=stored.size,
        media_type=kind.value,
        file_name=_file_name(file, stored),
        expected_version=expected,
    )
    return _answer(response, result, stored, kind)


@router.post(
    "/v1/shipments/{shipment_id}/claims/{claim_id}/attachments",
    summary="Attach evidence to a claim",
    description=_DESCRIPTION + "409 `claim.closed`: a closed claim's evidence is what it was "
    "settled on, and its audit package does not change afterwards.",
    response_model=AttachmentAccepted,
    responses=UPLOAD_ERRORS,
)
def attach_to_claim(
    shipment_id: UUID,
    claim_id: UUID,
    file: Upload,
    staff: Annotated[StaffMember, Depends(Allowed(CLAIMS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> AttachmentAccepted | JSONResponse:
    checked = _store(s, file)
    if isinstance(checked, JSONResponse):
        return checked
    stored, kind = checked
    result = s.app.shipments.attach_evidence(
        context(request, staff, NO_META),
        shipment_id,
        target=EvidenceTarget.CLAIM,
        target_id=str(claim_id),
        sha256=stored.sha256,
        size=stored.size,
        media_type=kind.value,
        file_name=_file_name(file, stored),
        expected_version=expected,
    )
    return _answer(response, result, stored, kind)


@router.post(
    "/v1/shipments/{shipment_id}/handovers/{number}/attachments",
    summary="Attach evidence to a handover (a signed waybill, a POD, photos at handover)",
    description=_DESCRIPTION + "404 for a handover the shipment does not have; 409 "
    "`handover.not_yet` for one that has not happened. The parties of the handover's links "
    "attach to it too: staff of a branch that runs one, and partner users of a partner "
    "that does.",
    response_model=AttachmentAccepted,
    responses=UPLOAD_ERRORS,
)
def attach_to_handover(
    shipment_id: UUID,
    number: HandoverNumber,
    file: Upload,
    staff: Annotated[StaffMember, Depends(Allowed(HANDOVERS))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> AttachmentAccepted | JSONResponse:
    checked = _store(s, file)
    if isinstance(checked, JSONResponse):
        return checked
    stored, kind = checked
    result = s.app.shipments.attach_evidence(
        context(request, staff, NO_META),
        shipment_id,
        target=EvidenceTarget.HANDOVER,
        target_id=str(number),
        sha256=stored.sha256,
        size=stored.size,
        media_type=kind.value,
        file_name=_file_name(file, stored),
        expected_version=expected,
    )
    return _answer(response, result, stored, kind)


@router.post(
    "/v1/relationships/{relationship_id}/interactions/{interaction_id}/attachments",
    summary="Attach evidence to an interaction (a visit's photos, a signed document)",
    description=_DESCRIPTION + "404 for an interaction the relationship has not logged.",
    response_model=AttachmentAccepted,
    responses=UPLOAD_ERRORS,
)
def attach_to_interaction(
    relationship_id: UUID,
    interaction_id: UUID,
    file: Upload,
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    request: Request,
    expected: ExpectedVersion,
    response: Response,
) -> AttachmentAccepted | JSONResponse:
    checked = _store(s, file)
    if isinstance(checked, JSONResponse):
        return checked
    stored, kind = checked
    result = s.app.relationships.attach_evidence(
        context(request, staff, NO_META),
        relationship_id,
        interaction_id=interaction_id,
        sha256=stored.sha256,
        size=stored.size,
        media_type=kind.value,
        file_name=_file_name(file, stored),
        expected_version=expected,
    )
    return _answer(response, result, stored, kind)


# --- reads -------------------------------------------------------------------------------

_FILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, as attached",
        "content": {
            kind.value: {"schema": {"type": "string", "format": "binary"}} for kind in MediaType
        },
    }
}


def _download(s: Services, conn: Reads, aggregate_id: UUID, sha256: str, what: str) -> Response:
    media_type = attached_file(conn, aggregate_id, sha256)
    if media_type is None:
        raise HTTPException(404, f"no file {sha256} is attached to {what} {aggregate_id}")
    data = s.app.evidence.get(sha256)
    if data is None or sha256_hex(data) != sha256:  # `fullchain verify` reports it
        raise HTTPException(404, f"file {sha256} is not in the evidence store as attached")
    return Response(
        data,
        media_type=media_type,
        headers={
            "ETag": f'"{sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )


@router.get(
    "/v1/shipments/{shipment_id}/attachments/{sha256}",
    summary="A file attached to the shipment's incidents, claims or handovers",
    description="With its media type. 404 for a file not attached to this shipment, or a "
    "shipment the caller may not read.",
    response_class=Response,
    responses={**_FILE_CONTENT, **responses(401, 404, 422, 503)},
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def shipment_attachment(
    shipment_id: UUID,
    sha256: Sha256,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    s: ServicesDep,
    conn: Reads,
) -> Response:
    return _download(s, conn, shipment_id, sha256, "shipment")


@router.get(
    "/v1/relationships/{relationship_id}/attachments/{sha256}",
    summary="A file attached to the relationship's interactions",
    description="With its media type. 404 for a file not attached to this relationship, or a "
    "relationship the caller may not read.",
    response_class=Response,
    responses={**_FILE_CONTENT, **responses(401, 404, 422, 503)},
    dependencies=[fresh(RESPONSIBILITY_AUDIT)],
)
def relationship_attachment(
    relationship_id: UUID,
    sha256: Sha256,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    s: ServicesDep,
    conn: Reads,
) -> Response:
    return _download(s, conn, relationship_id, sha256, "relationship")
