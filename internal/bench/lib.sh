# Shared by the bench scripts, which source it after changing to the repository's root.

# install_debian PACKAGE installs a Debian package the run needs (as root, or through sudo).
install_debian() {
	echo "$1 is missing: installing it from Debian" >&2
	if [ "$(id -u)" = 0 ]; then apt-get install -y "$1" >&2; else sudo apt-get install -y "$1" >&2; fi
}

# tmp holds the run's builds and data; the processes whose ids are in pids are stopped and
# tmp is removed when the script exits, however it exits.
tmp=$(mktemp -d)
pids=()
cleanup() {
	# A process a script stopped (SIGSTOP) must be continued to act on the signal.
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
