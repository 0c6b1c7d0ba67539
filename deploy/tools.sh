#!/usr/bin/env bash
# Pinned Go tools, built from source on first use with the local Go toolchain (through
# the Go module proxy) and kept under ${CRM_STATE_DIR:-<repo>/.local}/bin.
#
#   deploy/tools.sh kustomize    # renders deploy/k8s (used by the tests)
#   deploy/tools.sh grpcurl      # for trying the gRPC API by hand (make up installs it)
#
# stdout carries only the binary's path; progress goes to stderr.
set -euo pipefail

# kustomize v5.8.3 needs Go >= 1.27; v5.8.2 builds with Go 1.26.
KUSTOMIZE_VERSION="v5.8.2"
GRPCURL_VERSION="v1.9.3"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="${CRM_STATE_DIR:-$repo_root/.local}"
bin_dir="$state_dir/bin"

usage() {
  echo "usage: $0 kustomize|grpcurl" >&2
  exit 2
}

# go_tool NAME MODULE VERSION
go_tool() {
  local name=$1 module=$2 version=$3
  local stamp="$bin_dir/.$name-version"
  if [[ ! -x "$bin_dir/$name" || "$(cat "$stamp" 2>/dev/null)" != "$version" ]]; then
    command -v go >/dev/null 2>&1 || {
      echo "tools.sh: Go is needed to build $name $version (apt-get install golang-go)" >&2
      exit 1
    }
    mkdir -p "$bin_dir" "$state_dir/go"
    (
      flock 9  # two first calls at once build once
      if [[ ! -x "$bin_dir/$name" || "$(cat "$stamp" 2>/dev/null)" != "$version" ]]; then
        echo "tools.sh: building $name $version into $bin_dir (first use only)" >&2
        GOBIN="$bin_dir" GOPATH="$state_dir/go" GOMODCACHE="$state_dir/go/pkg/mod" \
          GOCACHE="$state_dir/go/cache" GOTOOLCHAIN=local CGO_ENABLED=0 \
          GOFLAGS="-mod=mod -modcacherw -buildvcs=false" \
          go install "$module@$version" >&2
        echo "$version" >"$stamp"
        rm -rf "$state_dir/go/cache"  # the build cache (~180 MB) serves no later call
      fi
    ) 9>"$bin_dir/.$name.lock"
  fi
  echo "$bin_dir/$name"
}

[[ $# -eq 1 ]] || usage
case "$1" in
  kustomize) go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" ;;
  grpcurl) go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION" ;;
  *) usage ;;
esac
