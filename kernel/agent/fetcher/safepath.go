package fetcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// maxSymlinkHops matches the kernel's limit on nested symlinks.
const maxSymlinkHops = 40

// resolveInRoot resolves the slash-separated name relative to root the way
// the kernel would, following symlinks that exist now, and fails with
// errEscape if the resolution leaves root at any point. Components that do
// not exist are taken as plain directories.
func resolveInRoot(root *os.Root, name string) error {
	var real []string // resolved components, none of them a symlink
	pending := splitPath(name)
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		if c == ".." {
			if len(real) == 0 {
				return errEscape
			}
			real = real[:len(real)-1]
			continue
		}
		candidate := strings.Join(append(real[:len(real):len(real)], c), "/")
		fi, err := root.Lstat(candidate)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				real = append(real, c)
				continue
			}
			return fmt.Errorf("resolve %q: %w", name, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			real = append(real, c)
			continue
		}
		hops++
		if hops > maxSymlinkHops {
			return fmt.Errorf("resolve %q: too many levels of symbolic links", name)
		}
		target, err := root.Readlink(candidate)
		if err != nil {
			return fmt.Errorf("resolve %q: %w", name, err)
		}
		if strings.HasPrefix(target, "/") {
			return errEscape
		}
		pending = append(splitPath(target), pending...)
	}
	return nil
}

// splitPath splits a slash-separated path into its elements, dropping empty
// and "." elements.
func splitPath(p string) []string {
	var out []string
	for _, part := range strings.Split(p, "/") {
		if part != "" && part != "." {
			out = append(out, part)
		}
	}
	return out
}

// auditSymlinks checks every symlink under root, removes those that resolve
// outside it, and reports the first one found. A link that was harmless when
// it was created can point outside once later archive entries have replaced
// or added the links it goes through, so this runs after extraction.
func auditSymlinks(root *os.Root) error {
	var bad []string
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if rerr := resolveInRoot(root, p); rerr != nil {
			bad = append(bad, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check symlinks: %w", err)
	}
	for _, p := range bad {
		_ = root.Remove(p)
	}
	if len(bad) > 0 {
		return fmt.Errorf("symlink %q %w", bad[0], errEscape)
	}
	return nil
}
