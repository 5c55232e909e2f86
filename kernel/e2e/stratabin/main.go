package stratabin

import (
	"fmt"
	"os"
	"testing"
)

// Main is the body of an end-to-end test package's TestMain: it resolves the
// binary into *bin, runs the tests and removes what it built, and returns the
// exit code (2 when no binary could be had).
func Main(m *testing.M, bin *string) int {
	path, cleanup, err := Resolve()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	*bin = path
	defer cleanup()
	return m.Run()
}
