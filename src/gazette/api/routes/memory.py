"""Repositories over HTTP: the seed's /v1/status and /v1/mcp/query, search, read, list, remove."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, ValidationError

from gazette.api.deps import GazetteDep, PrincipalDep
from gazette.errors import InvalidInputError
from gazette.index import FileContent, Hit, Repo, RepoStatus
from gazette.jobs import Job

router = APIRouter(prefix="/v1", tags=["memory"])


class SearchArguments(BaseModel):
    query: str
    repo: str | None = None
    k: int = Field(default=10, ge=1, le=100)


class ReadArguments(BaseModel):
    path: str
    repo: str


class ToolCall(BaseModel):
    tool: Literal["memory_search", "memory_read", "gazette_info"]
    arguments: dict[str, Any] = Field(default_factory=dict)


class IndexRequest(BaseModel):
    path: str = Field(description="Directory on the server to index.")
    name: str | None = Field(default=None, description="Repository name (unique in the workspace).")
    repo_id: str | None = Field(default=None, description="The seed's name for `name`; used when `name` is absent.")


@router.post("/index/repo", status_code=202, summary="Queue indexing of a directory; answers with the job")
def index_repo(gz: GazetteDep, principal: PrincipalDep, body: IndexRequest) -> dict[str, Any]:
    name = body.name or body.repo_id
    if not name:
        raise InvalidInputError("give the repository a name (`name`, or the seed's `repo_id`)")
    job = gz.index.submit(principal, body.path, name)
    return {
        "job_id": job.id,
        "status": job.status,
        "repo": name,
        "status_url": f"/v1/status/{name}",
        "job_url": f"/v1/jobs/{job.id}",
    }


@router.get("/jobs/{job_id}", summary="A background job and its outcome")
def get_job(gz: GazetteDep, principal: PrincipalDep, job_id: str) -> Job:
    return gz.jobs.get(principal, job_id)


@router.get("/repos", summary="Repositories of the caller's workspace")
def list_repos(gz: GazetteDep, principal: PrincipalDep) -> list[Repo]:
    return gz.index.list_repos(principal)


@router.get("/repos/{name}/search", summary="Search one repository")
def search_repo(
    gz: GazetteDep,
    principal: PrincipalDep,
    name: str,
    q: str = Query(description="What to look for, in plain words."),
    k: int = Query(default=10, ge=1, le=100),
) -> list[Hit]:
    return gz.index.search(principal, q, repo=name, k=k)


@router.get("/repos/{name}/files/{path:path}", summary="Read a whole indexed file")
def read_file(gz: GazetteDep, principal: PrincipalDep, name: str, path: str) -> FileContent:
    return gz.index.read(principal, name, path)


@router.delete("/repos/{name}", summary="Forget a repository's index")
def remove_repo(gz: GazetteDep, principal: PrincipalDep, name: str) -> Repo:
    return gz.index.remove_repo(principal, name)


@router.get("/status/{repo_name}", summary="indexed | indexing | stale | failed | unknown (the seed's contract)")
def status(gz: GazetteDep, principal: PrincipalDep, repo_name: str) -> RepoStatus:
    return gz.index.status(principal, repo_name)


@router.post("/mcp/query", summary="Call an MCP tool over plain HTTP (same results as MCP)")
def mcp_query(gz: GazetteDep, principal: PrincipalDep, call: ToolCall) -> Any:
    try:
        if call.tool == "memory_search":
            search = SearchArguments.model_validate(call.arguments)
            hits = gz.index.search(principal, search.query, repo=search.repo, k=search.k)
            return {"result": [hit.model_dump(mode="json") for hit in hits]}
        if call.tool == "memory_read":
            read = ReadArguments.model_validate(call.arguments)
            return gz.index.read(principal, read.repo, read.path).model_dump(mode="json")
        return gz.system.info(principal, call.arguments.get("workspace")).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"invalid arguments for {call.tool}: {problems}") from None
