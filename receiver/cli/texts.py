"""Words of the command line, in the receiver's language (RECEIVER_LANGUAGE), like the
pages' receiver/web/pages/ui_text.py: every line a person reads comes from here."""

from __future__ import annotations

import errno
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

LANGUAGES = ("zh", "en")
PROG = "postmortem-receiver"

CLI: Final[dict[str, dict[str, str]]] = {
    "zh": {
        # -- help ----------------------------------------------------------------------
        "description": "接收 Alertmanager 告警、写事故复盘草稿的服务。",
        "help_help": "显示帮助并退出",
        "help_version": "显示版本并退出",
        "help_config": "TOML 设置文件（RECEIVER_* 环境变量优先）",
        "help_commands": "命令",
        "help_serve": "运行 HTTP 服务",
        "help_migrate": "把数据库结构升级到本版本",
        "help_check_config": "检查设置、模板、草稿目录和数据库，一次列出所有问题；不创建任何东西",
        "help_offline": "不连接数据库",
        "help_incidents": "查看已存的事故",
        "help_incidents_list": "列出事故，最新的在前",
        "help_incidents_show": "显示一起事故的摘要（--json 输出 JSON）",
        "help_limit": "最多列出几起（默认 {default}）",
        "help_status": "只列出这个状态的事故",
        "help_service": "只列出这个服务的事故",
        "help_priority": "只列出这个级别的事故",
        "help_since": "只列出从此时起开始的事故：带时区的时间（2026-11-26T08:00:00+08:00）、"
        "日期（2026-11-26，按 RECEIVER_TIMEZONE）或多久以前（7d、24h）",
        "help_incident_id": "事故编号",
        "help_json": "输出事故及其告警、时间线的 JSON",
        "help_markdown": "输出当前的草稿（Markdown）",
        "help_replay": "重新应用已存的 webhook 和事件（可重复执行）",
        "help_replay_since": "只处理从此时起收到的记录（带时区，例如 2026-11-26T00:00:00Z）",
        "help_replay_incident": "只处理这起事故的记录",
        "help_from_database": "读另一个数据库（例如旧库）的收件箱，写入配置的数据库",
        "help_notify": "聊天通知渠道（设置文件中的 [notify]）",
        "help_inbox": "应用器隔离的 webhook 和事件",
        "inbox_none": "没有隔离中的条目",
        "inbox_count": "（共 {n} 条隔离中的条目）",
        "inbox_backlog": "待应用：{n} 条",
        "inbox_missing": "没有编号为 {id} 的收件箱条目；用 `{prog} inbox list` 查看隔离中的条目",
        "inbox_not_quarantined": "条目 #{id} 未被隔离（状态：{state}），无需处理",
        "inbox_retried": "条目 #{id} 已放回队列，应用器将重新应用它",
        "inbox_dropped": "条目 #{id} 已永久删除",
        "inbox_state_pending": "待应用",
        "inbox_state_applied": "已应用",
        "inbox_state_refused": "已拒绝",
        "inbox_state_quarantined": "已隔离",
        "inbox_field_id": "编号",
        "inbox_field_kind": "类型",
        "inbox_field_received": "接收时间",
        "inbox_field_state": "状态",
        "inbox_field_failures": "失败次数",
        "inbox_field_quarantined": "隔离时间",
        "inbox_field_error": "错误",
        "inbox_field_body": "内容",
        "help_inbox_list": "隔离中的条目，最早的在前",
        "help_inbox_show": "一个条目：状态、错误和内容",
        "help_inbox_retry": "把隔离的条目放回队列（修复之后）",
        "help_inbox_drop": "永久删除一个隔离的条目",
        "help_inbox_id": "收件箱条目编号",
        "help_notify_test": "向一个渠道发送示例消息，并打印平台的回复",
        "help_channel": "渠道在 [[notify.channels]] 中的名字",
        "help_drafts": "复盘草稿",
        "help_drafts_export": "把数据库中的草稿写成文件",
        "help_export_id": "一起事故的当前草稿",
        "help_export_all": "所有事故的当前草稿",
        "help_out": "写到这个目录（默认 RECEIVER_DRAFTS_DIR，否则 ./drafts）",
        # -- usage errors --------------------------------------------------------------
        "usage_error": "{message}；运行 `{prog} --help` 查看用法",
        "bad_integer": "应为 {low} 到 {high} 之间的整数",
        "bad_choice": "{value!r} 无效，可选：{choices}",
        "bad_since": "{value!r} 无法识别；用带时区的时间（2026-11-26T08:00:00+08:00）、"
        "日期（2026-11-26）或多久以前（7d、24h）",
        "bad_timestamp": "{value!r} 无法识别；用带时区的时间，例如 2026-11-26T00:00:00Z",
        # -- failures ------------------------------------------------------------------
        "config_unknown": "设置文件 {file} 中的 {name} 不是一个设置{hint}",
        "variable_unknown": "环境变量 {name} 不是一个设置{hint}",
        "did_you_mean": "；你是不是想写 {names}？",
        "no_such_setting": "；删掉它（README 的设置表列出了所有设置）",
        "config_value": "设置 {name}{where}：{detail}；改正这个值",
        "config_in_file": "（在 {file} 中）",
        "config_whole": "设置有误：{detail}",
        "config_unreadable": "读不了设置文件 {name}：{reason}；检查 --config 的路径和权限",
        "config_not_toml": "设置文件 {name} 不是有效的 TOML：{detail}；改正后再试",
        "config_variable": "有一个 RECEIVER_* 环境变量无法解析：{detail}；改正它",
        "store_unavailable": "无法使用数据库 {database}：{reason}；"
        "检查 RECEIVER_DATABASE_URL，并确认数据库在运行",
        "sqlite_missing": "数据库文件 {path} 不存在；检查 RECEIVER_DATABASE_URL，"
        "或运行 `{prog} migrate` 新建数据库",
        "not_migrated": "数据库 {database} 的结构版本为 {current}，本版本需要 {head}；"
        "运行 `{prog} migrate`",
        "schema_unknown": "数据库 {database} 的结构版本 {current} 比本版本 {prog} 新"
        "（本版本最新为 {head}）；升级 {prog}，或换一个数据库",
        "schema_empty": "空",
        "port_in_use": "无法监听 {listen}：端口已被占用；"
        "停止占用它的进程，或用 RECEIVER_LISTEN 换一个端口",
        "listen_failed": "无法监听 {listen}：{reason}；检查 RECEIVER_LISTEN",
        "template_broken": "草稿模板有误：{error}；改正 RECEIVER_TEMPLATE_DIR 中的模板"
        "（`{prog} check-config` 会逐一列出问题）",
        "broken_pipe": "输出在打印完之前被关闭（例如 `| head`），其余内容没有打印",
        "out_unwritable": "无法把草稿写到 {out}：{reason}；用 --out 指定一个可写的目录",
        "no_incident": "没有编号为 {id} 的事故；运行 `{prog} incidents list` 查看已有的事故",
        "no_draft": "事故 #{id} 还没有草稿（告警尚未全部恢复）；恢复后再试",
        "no_channel": "没有名为 {name!r} 的渠道（已配置：{known}）；检查 [[notify.channels]]",
        "none_configured": "无",
        # -- reports -------------------------------------------------------------------
        "started": "{prog} 已启动：监听 {url}；数据库 {database}；草稿目录 {drafts}；"
        "草稿中的时间为 {zone}（当前 UTC{offset}，用 RECEIVER_TIMEZONE 设置）；"
        "语言 {language}；/api 认证：{auth}",
        "no_drafts_dir": "不写文件",
        "auth_token": "Bearer 令牌（{count} 个）",
        "auth_basic": "Basic 认证（用户 {user}）",
        "auth_both": "Bearer 令牌（{count} 个）或 Basic 认证（用户 {user}）",
        "auth_none": "无",
        "open_api": "警告：/api 没有设置凭据，而监听地址 {host} 不只是本机："
        "能连上的人都能读写事故；"
        "设置 RECEIVER_AUTH_TOKEN（或 RECEIVER_BASIC_AUTH_USER 和 RECEIVER_BASIC_AUTH_PASSWORD），"
        "或监听 127.0.0.1",
        "schema_current": "数据库结构已是最新（版本 {revision}）",
        "schema_migrated": "数据库结构已从 {before} 升级到 {after}",
        "replayed": "重放完成：应用 {applied} 条，已应用过 {unchanged} 条，失败 {failed} 条",
        "exported": "（已写入 {count} 份草稿到 {out}）",
        "listed": "（显示 {shown} 起，共 {total} 起）",
        "list_header": "编号\t状态\t级别\t开始\t服务\t标题",
        "notify_ok": "成功",
        "notify_failed": "失败",
        "check_problem": "问题：{problem}",
        "check_ok": "正常：设置、模板（{languages}）{extra}",
        "check_drafts": "、草稿目录",
        "check_database": "、数据库",
        "check_database_new": "、数据库（首次启动时创建）",
        "check_slo_unreachable": "注意：无法连接 Prometheus，"
        "SLO 查询未经 Prometheus 检查（{reason}）",
        "template_not_dir": "RECEIVER_TEMPLATE_DIR {path} 不是目录",
        "template_failed": "模板 {template}{where}：{error}",
        "template_line": "（第 {line} 行）",
        "template_empty": "模板 {template} 渲染结果为空",
        "drafts_dir_unwritable": "草稿目录 {path} 不可写：{reason}",
        "database_not_creatable": "数据库文件 {path} 无法创建：{reason}",
        # -- incidents show ------------------------------------------------------------
        "end": "结束",
        "not_ended": "尚未结束",
        "end_ends_at": "（来自 Alertmanager 的 endsAt）",
        "end_manual": "（人工结束）",
        "no_owner": "未填写",
    },
    "en": {
        "description": "Alertmanager webhook receiver that writes draft postmortems.",
        "help_help": "show this help and exit",
        "help_version": "show the version and exit",
        "help_config": "TOML file of settings (RECEIVER_* variables win)",
        "help_commands": "commands",
        "help_serve": "run the HTTP server",
        "help_migrate": "bring the database schema to this version",
        "help_check_config": "check settings, templates, drafts directory and database; list "
        "every problem at once; creates nothing",
        "help_offline": "do not connect to the database",
        "help_incidents": "look at stored incidents",
        "help_incidents_list": "newest incidents first",
        "help_incidents_show": "one incident's summary (--json for JSON)",
        "help_limit": "list at most this many (default {default})",
        "help_status": "only incidents in this status",
        "help_service": "only this service's incidents",
        "help_priority": "only incidents of this priority",
        "help_since": "only incidents started from then on: a time with its zone "
        "(2026-11-26T08:00:00+08:00), a date (2026-11-26, in RECEIVER_TIMEZONE) or how long "
        "ago (7d, 24h)",
        "help_incident_id": "the incident's number",
        "help_json": "print the incident with its alerts and timeline as JSON",
        "help_markdown": "print the current draft (Markdown)",
        "help_replay": "re-apply stored webhooks and events (idempotent)",
        "help_replay_since": "only records received from then on (with a zone, e.g. "
        "2026-11-26T00:00:00Z)",
        "help_replay_incident": "only this incident's records",
        "help_from_database": "read the inbox of another database (e.g. the old one) into the "
        "configured one",
        "help_notify": "chat channels ([notify] in the settings file)",
        "help_inbox": "webhooks and events the applier quarantined",
        "inbox_none": "no quarantined entries",
        "inbox_count": "({n} quarantined entries)",
        "inbox_backlog": "not yet applied: {n}",
        "inbox_missing": "no inbox entry {id}; `{prog} inbox list` shows the quarantined ones",
        "inbox_not_quarantined": "entry #{id} is not quarantined (state: {state}); nothing to do",
        "inbox_retried": "entry #{id} is back in line; the applier will apply it again",
        "inbox_dropped": "entry #{id} deleted for good",
        "inbox_state_pending": "pending",
        "inbox_state_applied": "applied",
        "inbox_state_refused": "refused",
        "inbox_state_quarantined": "quarantined",
        "inbox_field_id": "id",
        "inbox_field_kind": "kind",
        "inbox_field_received": "received",
        "inbox_field_state": "state",
        "inbox_field_failures": "failures",
        "inbox_field_quarantined": "quarantined",
        "inbox_field_error": "error",
        "inbox_field_body": "body",
        "help_inbox_list": "quarantined entries, oldest first",
        "help_inbox_show": "one entry: where it stands, its error and its body",
        "help_inbox_retry": "put a quarantined entry back in line (after a fix)",
        "help_inbox_drop": "delete a quarantined entry for good",
        "help_inbox_id": "the inbox entry's number",
        "help_notify_test": "send a sample message to one channel and print the platform's answer",
        "help_channel": "the channel's name in [[notify.channels]]",
        "help_drafts": "draft postmortems",
        "help_drafts_export": "write drafts from the database to files",
        "help_export_id": "one incident's current draft",
        "help_export_all": "every incident's current draft",
        "help_out": "directory (default: RECEIVER_DRAFTS_DIR, else ./drafts)",
        "usage_error": "{message}; see `{prog} --help`",
        "bad_integer": "give an integer from {low} to {high}",
        "bad_choice": "{value!r} is not one of {choices}",
        "bad_since": "{value!r} is not a time; give one with its zone "
        "(2026-11-26T08:00:00+08:00), a date (2026-11-26) or how long ago (7d, 24h)",
        "bad_timestamp": "{value!r} is not a time; give one with its zone, e.g. "
        "2026-11-26T00:00:00Z",
        "config_unknown": "{name} in the settings file {file} is not a setting{hint}",
        "variable_unknown": "the environment variable {name} is not a setting{hint}",
        "did_you_mean": "; did you mean {names}?",
        "no_such_setting": "; remove it (the README's settings table lists them all)",
        "config_value": "setting {name}{where}: {detail}; correct the value",
        "config_in_file": " (in {file})",
        "config_whole": "invalid settings: {detail}",
        "config_unreadable": "cannot read the settings file {name}: {reason}; check the path "
        "given to --config and its permissions",
        "config_not_toml": "the settings file {name} is not valid TOML: {detail}; correct it",
        "config_variable": "a RECEIVER_* variable cannot be parsed: {detail}; correct it",
        "store_unavailable": "cannot use the database {database}: {reason}; check "
        "RECEIVER_DATABASE_URL and that the database is running",
        "sqlite_missing": "the database file {path} does not exist; check "
        "RECEIVER_DATABASE_URL, or run `{prog} migrate` to create the database",
        "not_migrated": "the database {database} has schema revision {current}, this version "
        "needs {head}; run `{prog} migrate`",
        "schema_unknown": "database {database}: the schema is at revision {current}, which "
        "this version of {prog} does not know (its newest is {head}); upgrade the receiver "
        "or point it at another database",
        "schema_empty": "empty",
        "port_in_use": "cannot listen on {listen}: the port is in use; stop the process "
        "using it, or choose another port with RECEIVER_LISTEN",
        "listen_failed": "cannot listen on {listen}: {reason}; check RECEIVER_LISTEN",
        "template_broken": "the draft template is broken: {error}; correct the templates in "
        "RECEIVER_TEMPLATE_DIR (`{prog} check-config` lists each problem)",
        "broken_pipe": "the output was closed before everything was printed (e.g. by "
        "`| head`); the rest was not printed",
        "out_unwritable": "cannot write drafts to {out}: {reason}; give a writable directory "
        "with --out",
        "no_incident": "no incident with id {id}; run `{prog} incidents list` to see them",
        "no_draft": "incident #{id} has no draft yet (its alerts are still firing); try "
        "again once they resolve",
        "no_channel": "no channel {name!r} (configured: {known}); check [[notify.channels]]",
        "none_configured": "none",
        "started": "{prog}: listening on {url}; database {database}; drafts in {drafts}; "
        "times in drafts are in {zone} (UTC{offset} now; set with RECEIVER_TIMEZONE); "
        "language {language}; /api auth: {auth}",
        "no_drafts_dir": "not written to files",
        "auth_token": "bearer token ({count})",
        "auth_basic": "basic auth (user {user})",
        "auth_both": "bearer token ({count}) or basic auth (user {user})",
        "auth_none": "none",
        "open_api": "warning: /api has no credentials and {host} listens beyond this "
        "machine: anyone who can connect can read and write incidents; set "
        "RECEIVER_AUTH_TOKEN (or RECEIVER_BASIC_AUTH_USER and RECEIVER_BASIC_AUTH_PASSWORD), "
        "or listen on 127.0.0.1",
        "schema_current": "schema is current (revision {revision})",
        "schema_migrated": "migrated schema from {before} to {after}",
        "replayed": "replayed: {applied} applied, {unchanged} already applied, {failed} failed",
        "exported": "({count} drafts written to {out})",
        "listed": "({shown} of {total})",
        "list_header": "ID\tSTATUS\tPRIORITY\tSTARTED\tSERVICE\tTITLE",
        "notify_ok": "ok",
        "notify_failed": "FAILED",
        "check_problem": "problem: {problem}",
        "check_ok": "ok: settings, templates ({languages}){extra}",
        "check_drafts": ", drafts directory",
        "check_database": ", database",
        "check_slo_unreachable": "note: Prometheus did not answer, the SLO queries were not "
        "checked against it ({reason})",
        "check_database_new": ", database (created at the first start)",
        "template_not_dir": "RECEIVER_TEMPLATE_DIR {path} is not a directory",
        "template_failed": "template {template}{where}: {error}",
        "template_line": " (line {line})",
        "template_empty": "template {template} renders nothing",
        "drafts_dir_unwritable": "drafts directory {path} is not writable: {reason}",
        "database_not_creatable": "the database file {path} cannot be created: {reason}",
        "end": "Ended",
        "not_ended": "not yet",
        "end_ends_at": " (Alertmanager's endsAt)",
        "end_manual": " (ended by a person)",
        "no_owner": "not filled in",
    },
}

# pydantic's error types, said in Chinese; the English is pydantic's own message
SETTING_ERRORS_ZH: Final[dict[str, str]] = {
    "literal_error": "应为 {expected} 之一",
    "enum": "应为 {expected} 之一",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为字符串",
    "dict_type": "应为表（TOML table）",
    "list_type": "应为列表",
    "model_type": "应为表（TOML table）",
    "missing": "必须填写",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "必须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "必须小于 {lt}",
    "string_too_short": "太短（至少 {min_length} 个字符）",
    "string_too_long": "太长（最多 {max_length} 个字符）",
    "too_short": "太少（至少 {min_length} 项）",
    "too_long": "太多（最多 {max_length} 项）",
    "extra_forbidden": "不是一个设置",
    "value_error": "值无效（{detail}）",
    "timedelta_parsing": "应为时长，例如 30s、5m、2h",
    "timedelta_type": "应为时长，例如 30s、5m、2h",
}

# what the operating system said, for the errors a person can act on
OS_REASONS: Final[dict[str, dict[int, str]]] = {
    "zh": {
        errno.EACCES: "没有权限",
        errno.EPERM: "没有权限",
        errno.ENOENT: "路径不存在",
        errno.ENOTDIR: "路径中有一段不是目录",
        errno.EISDIR: "这是一个目录",
        errno.EEXIST: "已经存在",
        errno.EROFS: "文件系统是只读的",
        errno.ENOSPC: "磁盘空间不足",
        errno.EADDRINUSE: "端口已被占用",
        errno.EADDRNOTAVAIL: "本机没有这个地址",
        errno.ECONNREFUSED: "连接被拒绝（那里没有服务在监听）",
        errno.ETIMEDOUT: "连接超时",
        errno.EHOSTUNREACH: "主机不可达",
        errno.ENETUNREACH: "网络不可达",
    },
    "en": {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "no such file or directory",
        errno.ENOTDIR: "a part of the path is not a directory",
        errno.EISDIR: "it is a directory",
        errno.EEXIST: "it already exists",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EADDRINUSE: "the address is in use",
        errno.EADDRNOTAVAIL: "this machine has no such address",
        errno.ECONNREFUSED: "connection refused (nothing listens there)",
        errno.ETIMEDOUT: "the connection timed out",
        errno.EHOSTUNREACH: "no route to the host",
        errno.ENETUNREACH: "the network is unreachable",
    },
}

# argparse's own error messages (Python 3.11), in Chinese; the rest stay as argparse says
_ARGPARSE_ZH: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"^the following arguments are required: (.+)$"), "缺少参数：{0}"),
    (re.compile(r"^one of the arguments (.+) is required$"), "需要以下参数之一：{0}"),
    (re.compile(r"^unrecognized arguments: (.+)$"), "无法识别的参数：{0}"),
    (re.compile(r"^ambiguous option: (\S+) could match (.+)$"), "选项 {0} 不明确，可能是 {1}"),
    (re.compile(r"^argument (\S+): expected one argument$"), "参数 {0} 需要一个值"),
    (
        re.compile(r"^argument (\S+): not allowed with argument (\S+)$"),
        "参数 {0} 不能与 {1} 同时使用",
    ),
    (
        re.compile(r"^argument (\S+): invalid choice: (.+) \(choose from (.+)\)$"),
        "参数 {0} 的值 {1} 无效，可选：{2}",
    ),
    (re.compile(r"^argument (\S+): (.+)$", re.DOTALL), "参数 {0}：{1}"),
)


def say(language: str, key: str, /, **values: Any) -> str:
    """The text `key` in `language` (English for a language the CLI does not know)."""
    return CLI.get(language, CLI["en"])[key].format(**{"prog": PROG, **values})


def usage_message(language: str, message: str, command: str = PROG) -> str:
    """argparse's error message as one line in `language`, with where to read more
    (`command --help`)."""
    if language == "zh":
        for pattern, text in _ARGPARSE_ZH:
            found = pattern.match(message)
            if found:
                message = text.format(*found.groups())
                break
    return say(language, "usage_error", message=" ".join(message.split()), prog=command)


def os_reason(language: str, exc: OSError) -> str:
    known = OS_REASONS.get(language, OS_REASONS["en"]).get(exc.errno or 0)
    return known or exc.strerror or str(exc)


def language_of(environ: Mapping[str, str], config_file: Path | None) -> str:
    """The language to speak before the settings are read (and when they cannot be):
    RECEIVER_LANGUAGE, else the file's `language`, else Chinese, the default."""
    named = environ.get("RECEIVER_LANGUAGE", "").strip()
    if not named and config_file is not None:
        try:
            named = str(tomllib.loads(config_file.read_text(encoding="utf-8")).get("language", ""))
        except (OSError, ValueError):
            named = ""
    return named if named in LANGUAGES else "zh"
