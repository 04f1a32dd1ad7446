"""Tamper evidence over HTTP: verify the log, sign its head, publish the public key."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from application.integrity import (
    Checkpoint,
    check_checkpoint,
    key_id_of,
    public_key_pem,
    sign_head,
    verify,
)
from interface.http.deps import Staff, services
from interface.http.errors import responses
from interface.runtime import Services

router = APIRouter(prefix="/v1/audit", tags=["tamper evidence"])


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


class PublicKey(BaseModel):
    key_id: str
    algorithm: str = "Ed25519"
    public_key_pem: str


@router.post(
    "/verify",
    summary="Recompute the hash chain over the whole log",
    description="Answers either intact up to position N, or the first position where the "
    "chain breaks and why. With an earlier checkpoint, also whether today's log extends "
    "it (signature valid, same chain hash at its position).",
    response_model=VerifyResult,
    responses=responses(401, 422),
)
def verify_log(
    body: VerifyRequest, _: Staff, s: Annotated[Services, Depends(services)]
) -> VerifyResult:
    result = verify(s.database)
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
    return VerifyResult(
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
def checkpoint(_: Staff, s: Annotated[Services, Depends(services)]) -> CheckpointModel:
    return CheckpointModel(**sign_head(s.database, s.signing_key()).as_dict())


@router.get(
    "/public-key",
    summary="The public key that signs checkpoints",
    response_model=PublicKey,
    responses=responses(401),
)
def public_key(_: Staff, s: Annotated[Services, Depends(services)]) -> PublicKey:
    key = s.signing_key()
    return PublicKey(key_id=key_id_of(key.public_key()), public_key_pem=public_key_pem(key))
