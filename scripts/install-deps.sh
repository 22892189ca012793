#!/usr/bin/env bash
# Installs what mqcron's local mode and tests need, and only what is
# missing, so a second run takes about a second:
#   - Debian packages: activemq, libxstream-java (the broker needs XStream
#     for the job scheduler's BROWSE action), mosquitto, mosquitto-clients,
#     and default-jdk-headless when javac is missing;
#   - npm packages pinned in tools/package-lock.json (dynalite, aws-cdk);
#   - Go modules listed in go.sum.
# It runs apt-get through sudo unless it runs as root.
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf 'install-deps: %s\n' "$*"; }
fail() {
	printf 'install-deps: %s\n' "$*" >&2
	exit 1
}

# --- Debian packages -------------------------------------------------------

packages=(activemq libxstream-java mosquitto mosquitto-clients)
if ! command -v javac >/dev/null 2>&1; then
	packages+=(default-jdk-headless)
fi

is_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for pkg in "${packages[@]}"; do
	if ! is_installed "$pkg"; then
		missing+=("$pkg")
	fi
done

# stop_system_mosquitto stops the mosquitto service that Debian's package
# starts on port 1883 after installation; local mode runs its own mosquitto
# on the configured port.
stop_system_mosquitto() {
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$sudo systemctl disable --now mosquitto.service >/dev/null 2>&1 || true
		log "stopped and disabled the system mosquitto service"
	elif [ -x /etc/init.d/mosquitto ]; then
		$sudo /etc/init.d/mosquitto stop >/dev/null 2>&1 || true
		log "stopped the system mosquitto service"
	fi
}

sudo=""
if [ "${#missing[@]}" -gt 0 ]; then
	log "missing Debian packages: ${missing[*]}"
	command -v apt-get >/dev/null 2>&1 ||
		fail "apt-get not found; install ${missing[*]} with your package manager and run this script again"
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			fail "not root and sudo not found; as root run: apt-get install ${missing[*]}"
		sudo="sudo"
	fi

	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		fail "apt-get update failed; check the network and /etc/apt/sources.list, then run this script again"
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		still_missing=()
		for pkg in "${missing[@]}"; do
			is_installed "$pkg" || still_missing+=("$pkg")
		done
		fail "could not install: ${still_missing[*]}; run 'apt-get install ${still_missing[*]}' as root to see why, then run this script again"
	fi

	for pkg in "${missing[@]}"; do
		if [ "$pkg" = mosquitto ]; then
			stop_system_mosquitto
		fi
	done
fi

if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
	log "note: port 1883 on 127.0.0.1 is in use; local mode's mosquitto needs it unless you set --mqtt-port"
fi

# --- npm packages ----------------------------------------------------------

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	fail "node and npm not found; install Node.js 20 or later (Debian: apt-get install nodejs npm) and run this script again"

# npm writes node_modules/.package-lock.json on every install; it is older
# than the lockfile when the lockfile changed since.
if [ ! -f tools/node_modules/.package-lock.json ] ||
	[ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
	log "installing npm packages from tools/package-lock.json"
	npm ci --prefix tools --no-audit --no-fund
fi

# --- Go modules ------------------------------------------------------------

command -v go >/dev/null 2>&1 ||
	fail "go not found; install the Go version named in go.mod and run this script again"
go mod download

log "all dependencies are present"
