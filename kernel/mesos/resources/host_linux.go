package resources

import "syscall"

// fsSizeMB returns the total size of the file system holding path, in MB.
func fsSizeMB(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Blocks * uint64(st.Frsize) / (1 << 20), nil
}
