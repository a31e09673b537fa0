#!/bin/sh
# dracut pre-mount hook (era-tools): era_check on each metadata device in
# /etc/era-tools/era-check.conf (`NAME METADATA_DEVICE [OPTION...]` per
# line; options strict, optional, timeout=SECS as in the initramfs-tools
# script and era_check(8)). Runs after udev has settled and dracut's
# initqueue (which activates LVM volumes needed for the root) has finished,
# before the root file system is mounted. Damaged metadata (exit 1), or a
# check that could not run (2, 3, ...), stops the boot with an emergency
# shell; non-fatal findings (exit 4) warn unless the line says `strict`.
# Sourced by dracut's init: no exit, variables unset at the end.

type die >/dev/null 2>&1 || . /lib/dracut-lib.sh

CONF=/etc/era-tools/era-check.conf
ERA_CHECK=/sbin/era_check

if [ -r "$CONF" ] && [ ! -x "$ERA_CHECK" ]; then
    die "era-check: $CONF lists targets but $ERA_CHECK is missing from the initramfs"
fi
if [ -r "$CONF" ]; then
    damaged=""
    failed=""
    while read -r name dev opts || [ -n "$name" ]; do
        case "$name" in
        ""|\#*) continue ;;
        esac
        if [ -z "$dev" ]; then
            warn "era-check: $CONF: no metadata device given for $name"
            failed="$failed $name(no device)"
            continue
        fi
        strict=n optional=n timeout=30
        for o in $opts; do
            case "$o" in
            strict) strict=y ;;
            optional) optional=y ;;
            timeout=*) timeout=${o#timeout=} ;;
            \#*) break ;;
            *) warn "era-check: $CONF: $name: unknown option $o ignored" ;;
            esac
        done
        case "$timeout" in
        ""|*[!0-9]*) warn "era-check: $CONF: $name: bad timeout, 30 s used"; timeout=30 ;;
        esac
        waited=0
        while [ ! -e "$dev" ] && [ "$waited" -lt "$timeout" ]; do
            sleep 1
            waited=$((waited + 1))
        done
        if [ ! -e "$dev" ]; then
            if [ "$optional" = y ]; then
                warn "era-check: $name: metadata device $dev not found after ${timeout} s; not checked (optional)"
            else
                warn "era-check: $name: metadata device $dev not found after ${timeout} s"
                failed="$failed $name($dev not found)"
            fi
            continue
        fi
        info "era-check: checking dm-era metadata of $name ($dev)"
        "$ERA_CHECK" "$dev"
        rc=$?
        case "$rc" in
        0) ;;
        4)
            if [ "$strict" = y ]; then
                warn "era-check: $name: non-fatal findings on $dev (strict)"
                failed="$failed $name($dev)"
            else
                warn "era-check: $name: non-fatal findings on $dev (see above); boot continues"
            fi
            ;;
        1)
            damaged="$damaged $name($dev)"
            failed="$failed $name($dev)"
            ;;
        *)
            warn "era-check: $name: era_check could not check $dev (exit status $rc)"
            failed="$failed $name($dev)"
            ;;
        esac
    done < "$CONF"
    if [ -n "$failed" ]; then
        warn "************************************************************"
        [ -z "$damaged" ] || warn "era-check: DAMAGED dm-era METADATA:$damaged"
        warn "Do not activate these era targets. See era_check(8) and"
        warn "era_repair(8): repair onto a new device, then take a full backup."
        warn "************************************************************"
        die "era-check: dm-era metadata check failed for:$failed"
    fi
fi
unset CONF ERA_CHECK damaged failed name dev opts o strict optional timeout waited rc
