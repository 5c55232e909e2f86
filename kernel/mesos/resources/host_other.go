//go:build !linux

package resources

import "errors"

func fsSizeMB(string) (uint64, error) {
	return 0, errors.New("disk size detection is not supported on this platform")
}
