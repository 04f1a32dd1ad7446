"""Tamper evidence over HTTP: verify the log, sign its head, publish the public key; the
log's Merkle tree: signed tree heads (C2SP checkpoints), inclusion and consistency
proofs."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

import base64
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from application.evidence import verify_evidence
from application.proofs.checkpoints import (
    check_since,
    log_origin,
    retired_verifiers,
    sign_tree_head,
    verifier_of,
)
from application.proofs.merkle import ProofError
from application.proofs.tree import LogTree, NotInLog, TreeTooSmall
from application.proofs.witness import WitnessRefusal, keep_cosignature, trusted_witnesses
from application.store.access_log import access_entries
from application.store.integrity import (
    Checkpoint,
    check_checkpoint,
    configured_signing_key,
    key_id_of,
    public_key_pem,
    record_verified,
    sign_head,
    verify,
)
from application.tokens import StaffMember
from domain.base import InvalidValue
from interface.http.deps import Allowed, NoNul, Reads, ServicesDep
from interface.http.errors import responses
from interface.http.permissions import ACCESS_LOG, AUDIT, CHECKPOINTS, EVERYONE
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/audit", tags=["tamper evidence"])


class CheckpointModel(BaseModel):
    position: int = Field(ge=0, description="Log position of the signed head")
    chain_hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="Chain hash there, hex")
    signed_at: str = Field(max_length=64)
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200, description="Ed25519 signature, base64")


class VerifyRequest(BaseModel):
    checkpoint: CheckpointModel | None = Field(
        None, description="An earlier checkpoint that today's log must extend"
    )


class CheckpointResult(BaseModel):
    signature_valid: bool
    extends: bool
    detail: str


class EvidenceProblem(BaseModel):
    sha256: str
    state: str = Field(description="missing, or altered (its bytes hash to another name)")
    attached_to: str = Field(description="Where the log attaches it, and at which position")


class EvidenceResult(BaseModel):
    """The files the log attaches as evidence, checked in the evidence store."""

    intact: bool
    attachments: int
    problems: list[EvidenceProblem]


class VerifyResult(BaseModel):
    intact: bool
    entries: int
    intact_up_to: int
    head_hash: str
    broken_at: int | None
    reason: str | None = Field(description="changed, missing, reordered or unchained")
    detail: str | None
    summary: str
    checkpoint: CheckpointResult | None = None
    evidence: EvidenceResult | None = Field(
        None, description="Every attached file present and hashing to its name?"
    )


class PublicKey(BaseModel):
    key_id: str
    algorithm: str = "Ed25519"
    public_key_pem: str


@router.post(
    "/verify",
    summary="Recompute the hash chain over the whole log",
    description="Answers either intact up to position N, or the first position where the "
    "chain breaks and why. With an earlier checkpoint, also whether today's log extends "
    "it (signature valid, same chain hash at its position). `evidence`: each file the log "
    "attaches, present in the evidence store and hashing to its name, or named missing or "
    "altered.",
    response_model=VerifyResult,
    responses=responses(401, 422),
)
def verify_log(
    body: VerifyRequest, _: Annotated[StaffMember, Depends(Allowed(AUDIT))], s: ServicesDep
) -> VerifyResult:
    result = verify(s.database)
    record_verified(s.database, result)
    checked = None
    if body.checkpoint is not None:
        check = check_checkpoint(
            s.database,
            Checkpoint(**body.checkpoint.model_dump()),
            s.signing_key().public_key(),
        )
        checked = CheckpointResult(
            signature_valid=check.signature_valid, extends=check.extends, detail=check.detail
        )
    files = verify_evidence(s.database, s.app.mapper, s.app.evidence)
    return VerifyResult(
        evidence=EvidenceResult(
            intact=files.intact,
            attachments=files.attachments,
            problems=[
                EvidenceProblem(sha256=p.sha256, state=p.state.value, attached_to=p.attached_to)
                for p in files.problems
            ],
        ),
        intact=result.intact,
        entries=result.entries,
        intact_up_to=result.intact_up_to,
        head_hash=result.head_hash,
        broken_at=result.broken_at,
        reason=result.reason,
        detail=result.detail,
        summary=result.summary(),
        checkpoint=checked,
    )


@router.post(
    "/checkpoints",
    status_code=201,
    summary="Sign the head of the chain",
    description="Keep the answer: presented later to /v1/audit/verify, it proves the log "
    "was only appended to since.",
    response_model=CheckpointModel,
    responses=responses(401),
)
def checkpoint(
    _: Annotated[StaffMember, Depends(Allowed(CHECKPOINTS))], s: ServicesDep
) -> CheckpointModel:
    return CheckpointModel(**sign_head(s.database, s.signing_key()).as_dict())


@router.get(
    "/public-key",
    summary="The public key that signs checkpoints",
    response_model=PublicKey,
    responses=responses(401),
)
def public_key(_: Annotated[StaffMember, Depends(Allowed(EVERYONE))], s: ServicesDep) -> PublicKey:
    key = s.signing_key()
    return PublicKey(key_id=key_id_of(key.public_key()), public_key_pem=public_key_pem(key))


# --- the Merkle tree -------------------------------------------------------------------


class VerifierKey(BaseModel):
    origin: str = Field(description="The log's name, first line of its checkpoints")
    verifier_key: str = Field(
        description="The C2SP signed-note verifier key: name+key id+base64(0x01 ‖ key)"
    )
    retired: list[str] = Field(
        description="Verifier keys of keys that signed earlier checkpoints (rotated out)"
    )


class InclusionProof(BaseModel):
    position: int = Field(description="Log position of the entry")
    leaf_index: int = Field(description="Its leaf in the tree: the entry's rank in the log")
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ entry), base64")
    root_hash: str = Field(description="Root of the tree of tree_size leaves, base64")
    proof: list[str] = Field(description="RFC 9162 audit path, base64, nearest first")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    first_root: str = Field(description="base64")
    second_root: str = Field(description="base64")
    proof: list[str] = Field(description="RFC 9162 consistency proof, base64")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.post(
    "/tree-heads",
    status_code=201,
    summary="Sign the head of the log's Merkle tree (a C2SP checkpoint)",
    description="The tree is brought up to the log, and its size and root hash are signed "
    "as a signed note (text/plain): origin, size, root hash (base64), `time` of signing; "
    "a checkpoint signed with the key the demo keeps in its own database says so. Keep it: "
    "consistency proofs from it show later logs extend it.",
    response_class=PlainTextResponse,
    responses={
        **responses(401),
        201: {"content": {"text/plain": {"schema": {"type": "string"}}}},
    },
)
def tree_head(
    _: Annotated[StaffMember, Depends(Allowed(CHECKPOINTS))], s: ServicesDep
) -> PlainTextResponse:
    note = sign_tree_head(
        LogTree(s.database, s.app.mapper),
        s.signing_key(),
        origin=log_origin(),
        now=s.app.clock(),
        key_in_database=configured_signing_key() is None,
    )
    return PlainTextResponse(note, status_code=201)


@router.get(
    "/verifier-key",
    summary="The verifier key of the log's checkpoints",
    response_model=VerifierKey,
    responses=responses(401),
)
def verifier_key(
    _: Annotated[StaffMember, Depends(Allowed(EVERYONE))], s: ServicesDep
) -> VerifierKey:
    origin = log_origin()
    return VerifierKey(
        origin=origin,
        verifier_key=verifier_of(s.signing_key(), origin).encode(),
        retired=[v.encode() for v in retired_verifiers()],
    )


@router.get(
    "/proofs/inclusion",
    summary="Proof that the entry at a log position is in the tree of a size",
    response_model=InclusionProof,
    responses=responses(401, 404, 422),
)
def inclusion(
    _: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    position: Annotated[int, Query(ge=1, le=2**62, description="Log position of the entry")],
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="The size of a checkpoint's tree; default: today's"),
    ] = None,
) -> InclusionProof:
    try:
        found = LogTree(s.database, s.app.mapper).inclusion(position, tree_size)
    except NotInLog as error:
        raise HTTPException(404, str(error)) from None
    except TreeTooSmall as error:
        raise InvalidValue("tree.size", str(error), field="tree_size") from None
    except ProofError as error:
        raise InvalidValue("tree.leaf_after_size", str(error), field="position") from None
    return InclusionProof(
        position=found.position,
        leaf_index=found.leaf_index,
        tree_size=found.tree_size,
        leaf_hash=_b64(found.leaf_hash),
        root_hash=_b64(found.root),
        proof=[_b64(p) for p in found.proof],
    )


@router.get(
    "/proofs/consistency",
    summary="Proof that the tree of one size is a prefix of the tree of a larger size",
    response_model=ConsistencyProof,
    responses=responses(401, 422),
)
def consistency(
    _: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    first: Annotated[int, Query(ge=0, le=2**62, description="An earlier checkpoint's size")],
    second: Annotated[
        int | None, Query(ge=0, le=2**62, description="A later size; default: today's")
    ] = None,
) -> ConsistencyProof:
    if second is not None and first > second:
        raise InvalidValue("tree.sizes_in_order", "first is at most second", field="first")
    try:
        found = LogTree(s.database, s.app.mapper).consistency(first, second)
    except TreeTooSmall as error:
        field = "second" if second is not None else "first"
        raise InvalidValue("tree.size", str(error), field=field) from None
    except ProofError as error:
        raise InvalidValue("tree.sizes_in_order", str(error), field="first") from None
    return ConsistencyProof(
        first=found.first,
        second=found.second,
        first_root=_b64(found.first_root),
        second_root=_b64(found.second_root),
        proof=[_b64(p) for p in found.proof],
    )


class TreeHeadCheck(BaseModel):
    checkpoint: str = Field(
        min_length=1,
        max_length=8192,
        description="A signed tree head kept from earlier (C2SP checkpoint, as "
        "POST /v1/audit/tree-heads gave it)",
    )


class TreeHeadChecked(BaseModel):
    extends: bool = Field(description="Whether today's log extends the checkpoint's")
    detail: str
    checkpoint_size: int | None = None
    size: int | None = Field(None, description="Today's log size")


@router.post(
    "/tree-heads/check",
    summary="Does today's log extend a checkpoint kept from earlier?",
    description="The checkpoint's signature, then a consistency proof from its tree to "
    "today's, checked against the root it signed. To trust no server, ask "
    "GET /v1/audit/proofs/consistency and check the proof yourself.",
    response_model=TreeHeadChecked,
    responses=responses(401, 422),
)
def check_tree_head(
    body: TreeHeadCheck, _: Annotated[StaffMember, Depends(Allowed(AUDIT))], s: ServicesDep
) -> TreeHeadChecked:
    origin = log_origin()
    result = check_since(
        LogTree(s.database, s.app.mapper),
        body.checkpoint,
        [verifier_of(s.signing_key(), origin), *retired_verifiers()],
    )
    return TreeHeadChecked(
        extends=result.extends,
        detail=result.detail,
        checkpoint_size=result.checkpoint_size,
        size=result.size,
    )


class AccessEntry(BaseModel):
    seq: int = Field(description="Its number in the access log, in commit order")
    read_at: datetime
    staff_id: str = Field(description="Who read")
    what: str = Field(
        description="history, state, diff, audit_package, epcis, replay, export or "
        "personal_data (personal fields answered in clear by the grant)"
    )
    aggregate_type: str
    aggregate_id: UUID
    relationship_id: UUID | None = Field(description="The customer it belongs to")
    detail: str = Field(description="What was asked: a version, a range, a size")
    entry_hash: str = Field(description="Its hash in the access log's chain, hex")


class AccessPage(BaseModel):
    items: list[AccessEntry]
    next_after: int | None = Field(description="Pass as `after` for the next page")


@router.get(
    "/access",
    summary="Who read which customer's history, state, audit package or export",
    description="The access log, oldest first: every read of a customer's history, an "
    "aggregate's state or diff, an audit package, an EPCIS export (and the command line's "
    "replay and export), with who, when and what was asked. Append-only and hash-chained "
    "(`fullchain verify` recomputes the chain); checkpoints commit to its head "
    "(`access <seq> <hash>`).",
    response_model=AccessPage,
    responses=responses(401, 422),
)
def access(
    _: Annotated[StaffMember, Depends(Allowed(ACCESS_LOG))],
    conn: Reads,
    relationship_id: UUID | None = None,
    staff_id: Annotated[str | None, Query(max_length=64), NoNul] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccessPage:
    rows = access_entries(
        conn, relationship_id=relationship_id, staff_id=staff_id, after=after, limit=limit
    )
    items = [AccessEntry(**{**r, "entry_hash": bytes(r["entry_hash"]).hex()}) for r in rows]
    return AccessPage(
        items=items,
        next_after=items[-1].seq if len(items) == limit else None,
    )


class Cosigned(BaseModel):
    checkpoint: str = Field(
        min_length=1,
        max_length=16384,
        description="A checkpoint of this log with a witness's cosignature line added "
        "(c2sp.org/tlog-cosignature v1, Ed25519, timestamped)",
    )


class CosignatureKept(BaseModel):
    witnesses: list[str] = Field(description="The trusted witnesses whose cosignatures held")


@router.post(
    "/cosignatures",
    status_code=201,
    summary="Keep a checkpoint countersigned by a witness",
    description="A witness (an auditor, a customer, any third party) countersigns a "
    "checkpoint after checking it extends the last one it countersigned (`fullchain "
    "witness`). Kept when the log's signature holds and a witness of "
    "`FULLCHAIN_WITNESS_KEYS` cosigned it (c2sp.org/tlog-cosignature v1: the time of "
    "cosigning and the whole checkpoint, signature type 0x04); a plain signed-note "
    "signature of a witness is refused. Audit packages carry the latest of each.",
    response_model=CosignatureKept,
    responses=responses(401, 422),
)
def cosignature(
    body: Cosigned, _: Annotated[StaffMember, Depends(Allowed(CHECKPOINTS))], s: ServicesDep
) -> CosignatureKept:
    origin = log_origin()
    try:
        kept = keep_cosignature(
            s.database,
            body.checkpoint,
            [verifier_of(s.signing_key(), origin), *retired_verifiers()],
            trusted_witnesses(),
        )
    except WitnessRefusal as error:
        raise InvalidValue("witness.cosignature", str(error), field="checkpoint") from None
    return CosignatureKept(witnesses=kept)
