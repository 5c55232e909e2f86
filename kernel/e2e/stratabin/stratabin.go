package stratabin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Resolve returns the path of the strata binary for this test run, and a
// function that removes what Resolve built (nothing when $STRATA_BIN was
// used). Call it from TestMain.
func Resolve() (string, func(), error) {
	if bin := os.Getenv("STRATA_BIN"); bin != "" {
		return bin, func() {}, nil
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", nil, fmt.Errorf("stratabin: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	tags, err := exec.Command("make", "-s", "-C", root, "print-tags").Output()
	if err != nil {
		return "", nil, fmt.Errorf("stratabin: make print-tags: %w", err)
	}
	tmp, err := os.MkdirTemp("", "strata-bin-")
	if err != nil {
		return "", nil, fmt.Errorf("stratabin: %w", err)
	}
	bin := filepath.Join(tmp, "strata")
	build := exec.Command("go", "build", "-tags", strings.TrimSpace(string(tags)), "-o", bin, "strata")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("stratabin: build strata: %w", err)
	}
	return bin, func() { os.RemoveAll(tmp) }, nil
}
