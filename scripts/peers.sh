#!/usr/bin/env bash
# Installs the independent MoQ implementations the end-to-end tests run
# against, each at an exact version, into $MOQ_GATEWAY_PEERS (outside the
# repository): a set already installed at its pinned versions is reused, so
# a warm machine builds nothing. Fails loudly when a peer cannot be built.
#
#   moq-rs-d14  cloudflare/moq-rs crates speaking draft-14 (moq-transport 0.14)
#   moq-rs-d16  the same crates speaking draft-16 (moq-transport 0.16)
#   moq-rs-d18  the same crates speaking draft-18 (moq-transport 0.17)
#   moq-dev     moq-dev's relay (moq-lite plus IETF drafts 14-22, clustering)
#               and its CLI, moq
#   aiomoqt     aiomoqt (Python, draft-14) in a virtualenv
set -euo pipefail
peers=${MOQ_GATEWAY_PEERS:-$HOME/.cache/moq-gateway/peers}
target=${MOQ_GATEWAY_CARGO_TARGET:-$(dirname "$peers")/cargo-target}
mkdir -p "$peers"

die() {
	echo "scripts/peers.sh: $*" >&2
	exit 1
}

# cargo_set [--unlocked] NAME CRATE@VERSION... installs the crates' binaries
# into $peers/NAME/bin unless that set is installed at exactly these
# versions. By default with --locked: the dependency versions each crate was
# released and tested with. --unlocked resolves dependencies afresh, for a
# crate whose lock file names a version the registry no longer serves.
cargo_set() {
	local lock=--locked
	if [ "$1" = --unlocked ]; then
		lock=
		shift
	fi
	local name=$1
	shift
	local root=$peers/$name stamp="$*"
	if [ -f "$root/.pinned" ] && [ "$(cat "$root/.pinned")" = "$stamp" ]; then
		return
	fi
	command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) to build $name"
	echo "== building $name: $stamp"
	rm -rf "$root"
	local start=$SECONDS
	# shellcheck disable=SC2086 # $lock is empty or one flag
	cargo install --quiet $lock --root "$root" --target-dir "$target" "$@" ||
		die "cargo install $stamp failed"
	echo "$stamp" >"$root/.pinned"
	echo "== $name built in $((SECONDS - start)) s"
}

cargo_set moq-rs-d14 moq-relay-ietf@0.7.19 moq-pub@0.8.15 moq-sub@0.4.9 moq-test-client@0.1.7
cargo_set moq-rs-d16 moq-relay-ietf@0.7.31 moq-pub@0.9.7 moq-sub@0.4.18
cargo_set moq-rs-d18 moq-relay-ietf@0.8.0 moq-pub@0.10.0 moq-sub@0.5.0 moq-test-client@0.2.0
# moq-relay 0.17.10's lock file names webpki-roots 1.0.11, which the
# registry no longer serves.
cargo_set --unlocked moq-dev moq-relay@0.17.10 moq-cli@0.14.10

# aiomoqt 0.5.3 imports a qh3 module that qh3 2.x removed: pin qh3 1.9.4.
aio=$peers/aiomoqt
aio_pins="aiomoqt==0.5.3 qh3==1.9.4"
if ! [ -f "$aio/.pinned" ] || [ "$(cat "$aio/.pinned")" != "$aio_pins" ]; then
	command -v python3 >/dev/null || die "python3 not found: needed for aiomoqt"
	echo "== installing $aio_pins"
	rm -rf "$aio"
	python3 -m venv "$aio" || die "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
	# shellcheck disable=SC2086 # the pins are separate arguments
	"$aio/bin/pip" install --quiet $aio_pins || die "pip install $aio_pins failed"
	"$aio/bin/python" -c 'import aiomoqt' || die "aiomoqt does not import"
	echo "$aio_pins" >"$aio/.pinned"
fi
