"""The `[links]` part of the settings: what the draft's appendix may point to.

The template lists a runbook, deployment guide, rollback script and contacts that exist
somewhere in the team's world, not in this deployment: a draft prints only those a team
configured here, never a path that leads nowhere.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

_Title = Annotated[str, Field(min_length=1, max_length=200)]
_Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class DocumentLink(_Strict):
    """One entry of 相关文档: `{ title = "事故响应手册", url = "https://wiki/…" }`."""

    title: _Title
    url: _Text

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a document link must be an http(s) URL people can open")
        return value


class ScriptLine(_Strict):
    """One entry of 相关脚本: `{ title = "回滚脚本", command = "./scripts/rollback.sh …" }`."""

    title: _Title
    command: _Text


class LinksSettings(_Strict):
    documents: list[DocumentLink] = Field(default_factory=list, max_length=50)
    scripts: list[ScriptLine] = Field(default_factory=list, max_length=50)
    # 相关工具: role → tool, e.g. {"日志工具" = "Loki"}; shown beside the ones the
    # notifications name (Prometheus, Alertmanager, Grafana)
    tools: dict[_Title, _Text] = Field(default_factory=dict, max_length=50)
    # 联系方式: role → "姓名 - 电话 - 邮箱"
    contacts: dict[_Title, _Text] = Field(default_factory=dict, max_length=50)
