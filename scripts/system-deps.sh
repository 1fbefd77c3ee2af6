#!/bin/sh
# Installs the Debian packages the tests and the demo need, when they are missing:
# OpenSSH server (collector tests), Chromium (browser tests), PostgreSQL (store tests),
# BusyBox (a node without GNU find), Node.js/npm (Highcharts for the docs, the JS unit tests),
# tcsh/zsh/fish (login shells a node may have), poppler-utils (pdftotext for print tests),
# systemd (systemd-analyze verify of the shipped units).
set -eu
need=""
command -v /usr/sbin/sshd >/dev/null 2>&1 || need="$need openssh-server"
command -v ssh >/dev/null 2>&1 || need="$need openssh-client"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$need postgresql"
command -v busybox >/dev/null 2>&1 || need="$need busybox"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v node >/dev/null 2>&1 || need="$need nodejs"
for sh in tcsh zsh fish; do command -v $sh >/dev/null 2>&1 || need="$need $sh"; done
command -v pdftotext >/dev/null 2>&1 || need="$need poppler-utils"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$need" >&2
    echo "install them with: sudo apt-get install -y$need" >&2
    exit 1
fi
echo "installing Debian packages:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need
