#!/bin/sh
# dracut pre-mount hook (era-tools): era_check on each metadata device in
# /etc/era-tools/era-check.conf (`NAME METADATA_DEVICE` per line). Damaged
# metadata stops the boot with an emergency shell.

type die >/dev/null 2>&1 || . /lib/dracut-lib.sh

CONF=/etc/era-tools/era-check.conf
ERA_CHECK=/sbin/era_check

if [ -r "$CONF" ] && [ -x "$ERA_CHECK" ]; then
    failed=""
    while read -r name dev rest || [ -n "$name" ]; do
        case "$name" in
        ""|\#*) continue ;;
        esac
        if [ -z "$dev" ]; then
            warn "era-check: $CONF: no metadata device given for $name"
            continue
        fi
        if [ ! -e "$dev" ]; then
            warn "era-check: $name: metadata device $dev not found; not checked"
            continue
        fi
        info "era-check: checking dm-era metadata of $name ($dev)"
        if ! "$ERA_CHECK" "$dev"; then
            failed="$failed $name($dev)"
        fi
    done < "$CONF"
    if [ -n "$failed" ]; then
        warn "************************************************************"
        warn "era-check: DAMAGED dm-era METADATA:$failed"
        warn "Do not activate these era targets. See era_check(8) and"
        warn "era_repair(8): repair onto a new device, then take a full backup."
        warn "************************************************************"
        die "era-check: dm-era metadata check failed for:$failed"
    fi
fi
unset CONF ERA_CHECK failed name dev rest
