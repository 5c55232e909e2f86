#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine, and nothing when it is all there.
# Under CI=true a missing dependency that cannot be installed fails the run (tests never skip there).
set -euo pipefail
# runc lives in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

# Debian packages the tests use, with a command each that proves it is present.
# node and npm run a third-party Mesos framework library against Strata (kernel/e2e, interop test);
# a node that came from elsewhere (e.g. a vendor package that bundles npm) is used as it is.
# podman runs OCI containers (kernel/containerizer/podman) with the runc runtime: crun, podman's
# other choice, fails on hosts with hybrid cgroups. wrk loads HTTP APIs in the benchmarks (make bench).
# dig (bind9-dnsutils) queries the DNS server in its tests; dnsperf loads it in the benchmarks.
# ip (iproute2) makes the network namespaces and veth pairs of the partition test (kernel/e2e/netns;
# its nsenter comes with util-linux, which every Debian has).
declare -A need=(
	[iproute2]=ip
	[procps]=ps
	[curl]=curl
	[nodejs]=node
	[npm]=npm
	[podman]=podman
	[runc]=runc
	[wrk]=wrk
	[bind9-dnsutils]=dig
	[dnsperf]=dnsperf
)
# Packages checked by name: the podman tests build their image from a static busybox, and the
# plain busybox package installs a dynamically linked one at the same path. ZooKeeper (with its
# Java) runs the election and fault tests, PostgreSQL the shared store's; both are started by
# the tests themselves on free ports, never as system services.
by_name=(busybox-static zookeeper postgresql)

missing=()
for pkg in "${!need[@]}"; do
	command -v "${need[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
for pkg in "${by_name[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

go mod download
echo "install-deps: ok"
