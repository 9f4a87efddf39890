#!/bin/sh
# alert-webhook.sh — report what people do during an incident to postmortem-receiver.
#
#   scripts/alert-webhook.sh [options] TYPE SERVICE SEVERITY MESSAGE [DETAILS]
#
# POSIX sh plus curl; nothing else is needed on the host. The receiver checks TYPE
# (and every other field), so the list of types lives in one place: the server.
# Run with --help for the types, options and environment.

PROG=alert-webhook.sh

usage() {
    cat <<'EOF'
Usage: alert-webhook.sh [options] TYPE SERVICE SEVERITY MESSAGE [DETAILS]
       alert-webhook.sh deploy|config SERVICE WHAT [--version V] [--from V]
                        [--by NAME] [--link URL] [--at TIME] [--id KEY]

Records TYPE for SERVICE in postmortem-receiver: system-alert opens an incident
(or joins the open one); every other TYPE adds a row to the timeline of the open
(or recently ended) incident of SERVICE, or of --incident ID.
SEVERITY is positional for every TYPE; only system-alert uses it.

Example:
  alert-webhook.sh system-alert "payments" "critical" "支付接口大量超时" "5xx > 20%"
  alert-webhook.sh rollback "payments" "critical" "回滚到 v2.3.1"

TYPE:
  system-alert   打开事故 (open an incident; SEVERITY e.g. critical/warning/info or P0-P3)
  ack            事故确认 (acknowledged)
  assemble       响应团队召集 (response team assembled)
  restart        故障三板斧：重启 (restarted)
  rollback       故障三板斧：回滚 (rolled back)
  scale          故障三板斧：扩容 (scaled out)
  root-cause     根因分析 (root cause found)
  mitigate       临时修复 (temporary fix)
  fix            永久修复 (permanent fix)
  verify         功能验证 (functions verified)
  monitor-ok     监控确认 (monitoring back to normal)
  notify-users   用户通知 (users notified)
  resolve        事故结束 (incident over)
  note           备注 (a note)

deploy | config: 记录一次变更 (record a change to SERVICE: a release or a
configuration change; the draft lists it and may name it as a suspect):
  alert-webhook.sh deploy payments "发布 payments-api" --version v2.32.0 --from v2.31.4
  --version V   what it changed to (a version, tag or revision)
  --from V      what it changed from
  --by NAME     who made it (default: as --actor)
  --link URL    where to read about it (release notes, merge request, pipeline)
  --at TIME     when it started, RFC 3339 with a zone (default: now)
  --id KEY      record at most once per KEY (default: the fields and the time)

Options (before TYPE):
  --incident ID          add to incident ID instead of the open incident of SERVICE
  --actor NAME           who did it (default: $RECEIVER_ACTOR, then $USER, then id -un)
  --idempotency-key KEY  record at most once per KEY (default: derived from the
                         fields and the current UTC minute, so the same call
                         repeated within a minute is recorded once)
  -h, --help             show this help

Environment:
  RECEIVER_URL    the receiver's base URL (default http://127.0.0.1:8080)
  RECEIVER_TOKEN  sent as "Authorization: Bearer <token>" when set
  RECEIVER_ACTOR  the default actor

Output: "incident #ID recorded|duplicate URL" on stdout; "inbox #N accepted, not
yet applied URL" when the receiver stored it but has not applied it yet; for
deploy|config "change accepted: inbox #N URL".
Exit status: 0 recorded, duplicate or accepted; 1 the receiver refused the event (its message
on stderr); 2 wrong usage; 3 the receiver could not be reached.
EOF
}

usage_error() {
    printf '%s: %s\n' "$PROG" "$1" >&2
    usage >&2
    exit 2
}

mode=event
incident=
opt_actor=
idempotency_key=
# the event grammar: [options] TYPE SERVICE SEVERITY MESSAGE [DETAILS]
parse_event() {
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help)
                usage
                exit 0
                ;;
            --incident | --actor | --idempotency-key)
                [ $# -ge 2 ] || usage_error "option $1 needs a value"
                case $1 in
                    --incident) incident=$2 ;;
                    --actor) opt_actor=$2 ;;
                    --idempotency-key) idempotency_key=$2 ;;
                esac
                shift 2
                ;;
            --incident=*)
                incident=${1#*=}
                shift
                ;;
            --actor=*)
                opt_actor=${1#*=}
                shift
                ;;
            --idempotency-key=*)
                idempotency_key=${1#*=}
                shift
                ;;
            --)
                shift
                break
                ;;
            -?*) usage_error "unknown option: $1" ;;
            *) break ;;
        esac
    done

    if [ $# -lt 4 ] || [ $# -gt 5 ]; then
        usage_error "expected TYPE SERVICE SEVERITY MESSAGE [DETAILS], got $# argument(s)"
    fi
    type=$1
    service=$2
    severity=$3
    message=$4
    details=${5:-}
}

# the change grammar: deploy|config SERVICE WHAT, its options anywhere after the TYPE
parse_change() {
    mode=change
    type=$1
    shift
    version= from= link= at= change_id=
    set_positional=0
    service= message=
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help)
                usage
                exit 0
                ;;
            --version | --from | --by | --link | --at | --id)
                [ $# -ge 2 ] || usage_error "option $1 needs a value"
                case $1 in
                    --version) version=$2 ;;
                    --from) from=$2 ;;
                    --by) opt_actor=$2 ;;
                    --link) link=$2 ;;
                    --at) at=$2 ;;
                    --id) change_id=$2 ;;
                esac
                shift 2
                ;;
            --version=* | --from=* | --by=* | --link=* | --at=* | --id=*)
                value=${1#*=}
                case $1 in
                    --version=*) version=$value ;;
                    --from=*) from=$value ;;
                    --by=*) opt_actor=$value ;;
                    --link=*) link=$value ;;
                    --at=*) at=$value ;;
                    --id=*) change_id=$value ;;
                esac
                shift
                ;;
            -?*) usage_error "unknown option: $1" ;;
            *)
                case $set_positional in
                    0) service=$1 ;;
                    1) message=$1 ;;
                    *) usage_error "expected $type SERVICE WHAT [options], got more arguments" ;;
                esac
                set_positional=$((set_positional + 1))
                shift
                ;;
        esac
    done
    [ "$set_positional" -eq 2 ] || usage_error "expected $type SERVICE WHAT [options]"
}

case ${1:-} in
    deploy | config) parse_change "$@" ;;
    *) parse_event "$@" ;;
esac

actor=${opt_actor:-${RECEIVER_ACTOR:-${USER:-}}}
if [ -z "$actor" ]; then
    actor=$(id -un 2>/dev/null) || actor=
fi

base_url=${RECEIVER_URL:-http://127.0.0.1:8080}
base_url=${base_url%/}

command -v curl >/dev/null 2>&1 || {
    printf '%s: curl is required and is not on PATH\n' "$PROG" >&2
    exit 3
}

if [ "$mode" = event ] && [ -z "$idempotency_key" ]; then
    # the same call within the same UTC minute gets the same key: a retried or repeated
    # call is recorded once. Each field goes in with its length, so no two calls that
    # differ only in where one field ends and the next begins share a sum.
    minute=$(date -u +%Y%m%dT%H%M)
    sum=$(
        for field in "$type" "$service" "$severity" "$message" "$details" "$actor" \
            "$incident" "$minute"; do
            printf '%s:%s\n' "${#field}" "$field"
        done | cksum
    )
    idempotency_key="alert-webhook-$minute-${sum%% *}-${sum#* }"
fi

body=
errors=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    rm -f "$body" "$errors"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
body=$(mktemp "${TMPDIR:-/tmp}/alert-webhook.XXXXXX") || exit 3
errors=$(mktemp "${TMPDIR:-/tmp}/alert-webhook.XXXXXX") || exit 3

# The token goes to curl on its standard input, not on its command line (where ps shows it).
send() {
    if [ -n "${RECEIVER_TOKEN:-}" ]; then
        printf 'Authorization: Bearer %s\n' "$RECEIVER_TOKEN" | curl -q -H @- "$@"
    else
        curl -q "$@" </dev/null
    fi
}

if [ "$mode" = change ]; then
    # the time is part of the change: a retried call sends the same one, and is stored once
    [ -n "$at" ] || at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    path=/api/v1/changes/manual
    set -- \
        --data-urlencode "type=$type" \
        --data-urlencode "service=$service" \
        --data-urlencode "what=$message" \
        --data-urlencode "version=$version" \
        --data-urlencode "from=$from" \
        --data-urlencode "by=$actor" \
        --data-urlencode "link=$link" \
        --data-urlencode "at=$at" \
        --data-urlencode "id=$change_id"
else
    path=/api/v1/events
    set -- \
        --data-urlencode "type=$type" \
        --data-urlencode "service=$service" \
        --data-urlencode "severity=$severity" \
        --data-urlencode "message=$message" \
        --data-urlencode "details=$details" \
        --data-urlencode "actor=$actor" \
        --data-urlencode "incident_id=$incident" \
        --data-urlencode "idempotency_key=$idempotency_key"
fi

# curl retries only transient failures (refused connections, timeouts, 408/429/5xx),
# never other 4xx answers; the idempotency key (a change's fields) keeps a retried call
# from being recorded twice. --retry-max-time bounds the whole call: it never hangs.
code=$(
    send -sS \
        --connect-timeout 5 --max-time 20 \
        --retry 2 --retry-connrefused --retry-max-time 30 \
        -A "$PROG" \
        -H 'Accept: application/json' \
        "$@" \
        -o "$body" -w '%{http_code}' \
        "$base_url$path" 2>"$errors"
)
status=$?

if [ "$status" -ne 0 ]; then
    reason=$(sed -n 's/^curl: ([0-9]*) //p' "$errors" | tail -n 1)
    printf '%s: cannot reach %s (%s)\n' "$PROG" "$base_url" "${reason:-curl exit $status}" >&2
    exit 3
fi

TAB=$(printf '\t')

# The string value of the first "KEY": "..." in the JSON on stdin (json.dumps' separators),
# with the common escapes undone. A tab cannot occur raw in JSON text: it marks the spot.
json_string() {
    sed -n -e "s/\"$1\": \"/$TAB/" \
        -e "s/^[^$TAB]*$TAB\\([^\"\\\\]*\\(\\\\.[^\"\\\\]*\\)*\\)\".*/\\1/p" |
        head -n 1 |
        sed -e 's/\\"/"/g' -e 's/\\\//\//g' -e 's/\\n/ /g' -e 's/\\t/ /g' -e 's/\\\\/\\/g'
}

json_number() {
    sed -n -e "s/\"$1\": /$TAB/" -e "s/^[^$TAB]*$TAB\\([0-9][0-9]*\\).*/\\1/p" | head -n 1
}

case $code in
    202)
        if [ "$mode" = change ]; then
            printf 'change accepted: inbox #%s %s/api/v1/inbox/%s\n' \
                "$(json_number inbox_id <"$body")" "$base_url" "$(json_number inbox_id <"$body")"
            exit 0
        fi
        # stored, but the receiver applies behind: not applied within its wait
        printf 'inbox #%s accepted, not yet applied %s/api/v1/inbox/%s\n' \
            "$(json_number inbox_id <"$body")" "$base_url" "$(json_number inbox_id <"$body")"
        exit 0
        ;;
    2??)
        printf 'incident #%s %s %s\n' "$(json_number incident_id <"$body")" \
            "$(json_string status <"$body")" "$(json_string incident_url <"$body")"
        exit 0
        ;;
esac

reason=$(json_string message <"$body")
if [ -z "$reason" ]; then
    # not the receiver's JSON (a proxy's page?): its first line will have to do
    reason=$(head -n 1 "$body" | cut -c 1-200)
fi
printf '%s: %s: %s\n' "$PROG" "$code" "${reason:-no message}" >&2
# then which fields were wrong, one a line: "  incident_id: Input should be a valid integer"
sed -n 's/.*"details": \[{//p' "$body" | sed 's/}, {/\
/g' | head -n 10 | while IFS= read -r item || [ -n "$item" ]; do
    printf '  %s: %s\n' "$(printf '%s\n' "$item" | json_string field)" \
        "$(printf '%s\n' "$item" | json_string message)" >&2
done
exit 1
