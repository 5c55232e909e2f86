package fetcher

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/ulikunitz/xz"
)

type archiveKind int

const (
	notArchive archiveKind = iota
	tarPlain
	tarGzip
	tarBzip2
	tarXz
	zipArchive
	gzipFile
)

// archiveKindOf recognises an archive by its name, as Mesos does.
func archiveKindOf(name string) archiveKind {
	lower := strings.ToLower(name)
	has := func(exts ...string) bool {
		for _, e := range exts {
			if strings.HasSuffix(lower, e) {
				return true
			}
		}
		return false
	}
	switch {
	case has(".tar.gz", ".tgz"):
		return tarGzip
	case has(".tar.bz2", ".tbz2", ".tbz"):
		return tarBzip2
	case has(".tar.xz", ".txz"):
		return tarXz
	case has(".tar"):
		return tarPlain
	case has(".zip"):
		return zipArchive
	case has(".gz"):
		return gzipFile
	}
	return notArchive
}

// extractor writes the entries of one archive into the sandbox root.
type extractor struct {
	f          *fetch
	written    int64 // bytes of file data written so far
	entries    int
	maxBytes   int64 // < 0: unlimited
	maxEntries int   // < 0: unlimited
}

var errEscape = errors.New("points outside the sandbox")

// extract unpacks the sandbox file name according to kind, then checks that
// no symlink in the sandbox leads outside it.
func (f *fetch) extract(kind archiveKind, name string) error {
	x := &extractor{f: f, maxBytes: f.opts.MaxExtractBytes, maxEntries: f.opts.MaxExtractEntries}
	in, err := f.root.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	// Cap the decompressed stream too: file data is bounded by maxBytes, and
	// tar headers, padding and names by a margin per entry, so a compression
	// bomb cannot keep the decompressor busy beyond that.
	var compressed io.Reader = ctxReader{f.ctx, in}
	decompressedCap := func(r io.Reader) io.Reader {
		if x.maxBytes < 0 || x.maxEntries < 0 {
			return r
		}
		return &cappedReader{r: r, left: x.maxBytes + int64(x.maxEntries)*4096 + 1<<20}
	}

	switch kind {
	case tarPlain:
		err = x.tar(compressed)
	case tarGzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(compressed); err == nil {
			err = x.tar(decompressedCap(zr))
		}
	case tarBzip2:
		err = x.tar(decompressedCap(bzip2.NewReader(compressed)))
	case tarXz:
		var checked io.Reader
		if checked, err = checkXzDict(compressed); err == nil {
			var xr *xz.Reader
			if xr, err = xz.NewReader(checked); err == nil {
				err = x.tar(decompressedCap(xr))
			}
		}
	case zipArchive:
		var fi fs.FileInfo
		if fi, err = in.Stat(); err == nil {
			err = x.zip(in, fi.Size())
		}
	case gzipFile:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(compressed); err == nil {
			out := strings.TrimSuffix(path.Base(name), path.Ext(name))
			if out == "" {
				err = fmt.Errorf("cannot name the decompressed file of %q", name)
			} else {
				err = x.file(out, decompressedCap(zr), 0o644, -1)
			}
		}
	default:
		err = fmt.Errorf("unsupported archive kind %d", kind)
	}
	if err != nil {
		return err
	}
	return auditSymlinks(f.root)
}

func (x *extractor) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := x.count(); err != nil {
			return err
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue // the archive's "./"
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = x.dir(name, hdr.FileInfo().Mode())
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
			err = x.file(name, tr, hdr.FileInfo().Mode(), hdr.Size)
			if err == nil && !hdr.ModTime.IsZero() {
				_ = x.f.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
			}
		case tar.TypeSymlink:
			err = x.symlink(name, hdr.Linkname)
		case tar.TypeLink:
			err = x.hardlink(name, hdr.Linkname)
		default:
			// The skipped data is read all the same, so it counts.
			if hdr.Size > 0 {
				err = x.charge(name, hdr.Size)
			}
			x.f.logf("Skipping archive entry '%s' of unsupported type %q", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

func (x *extractor) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("read zip: %w", err)
	}
	for _, zf := range zr.File {
		if err := x.f.ctx.Err(); err != nil {
			return err
		}
		if err := x.count(); err != nil {
			return err
		}
		name, err := entryName(zf.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(zf.Name, "/"):
			err = x.dir(name, mode)
		case mode&fs.ModeSymlink != 0:
			err = x.zipSymlink(name, zf)
		case mode.IsRegular():
			if mode.Perm() == 0 {
				mode |= 0o644 // no Unix attributes recorded
			}
			var rc io.ReadCloser
			if rc, err = zf.Open(); err != nil {
				return fmt.Errorf("read zip entry %q: %w", zf.Name, err)
			}
			declared := int64(zf.UncompressedSize64)
			if zf.UncompressedSize64 > 1<<62 {
				declared = 1 << 62
			}
			err = x.file(name, ctxReader{x.f.ctx, rc}, mode, declared)
			rc.Close()
			if err == nil && !zf.Modified.IsZero() {
				_ = x.f.root.Chtimes(name, zf.Modified, zf.Modified)
			}
		default:
			x.f.logf("Skipping archive entry '%s' of unsupported mode %v", zf.Name, mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) zipSymlink(name string, zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("read zip entry %q: %w", zf.Name, err)
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, 4097))
	if err != nil {
		return fmt.Errorf("read zip entry %q: %w", zf.Name, err)
	}
	if len(target) > 4096 {
		return fmt.Errorf("symlink %q: target too long", name)
	}
	return x.symlink(name, string(target))
}

// charge counts n bytes of entry name against the extraction budget.
func (x *extractor) charge(name string, n int64) error {
	x.written += n
	if x.maxBytes >= 0 && x.written > x.maxBytes {
		return fmt.Errorf("archive entry %q (%d bytes) exceeds the extraction limit of %d bytes", name, n, x.maxBytes)
	}
	return nil
}

func (x *extractor) count() error {
	x.entries++
	if x.maxEntries >= 0 && x.entries > x.maxEntries {
		return fmt.Errorf("archive has more than the maximum of %d entries", x.maxEntries)
	}
	return nil
}

// entryName validates an archive entry name and returns it cleaned, or ""
// for the archive's root directory.
func entryName(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("archive entry with an empty name")
	}
	if strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("archive entry %q: absolute path %w", raw, errEscape)
	}
	if strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("archive entry %q: NUL in name", raw)
	}
	if hasDotDot(raw) {
		return "", fmt.Errorf("archive entry %q: '..' in path %w", raw, errEscape)
	}
	name := path.Clean(raw)
	if name == "." {
		return "", nil
	}
	return name, nil
}

func (x *extractor) dir(name string, mode fs.FileMode) error {
	perm := mode.Perm() | 0o700
	if err := x.f.root.MkdirAll(name, perm); err != nil {
		return fmt.Errorf("create directory %q: %w", name, err)
	}
	if err := x.f.root.Chmod(name, perm); err != nil {
		return fmt.Errorf("chmod directory %q: %w", name, err)
	}
	return nil
}

// makeParent creates name's directory and removes whatever non-directory
// is at name already, so that name can be created afresh.
func (x *extractor) makeParent(name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := x.f.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create directory for %q: %w", name, err)
		}
	}
	fi, err := x.f.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("stat %q: %w", name, err)
	case fi.IsDir():
		return fmt.Errorf("archive entry %q would replace a directory", name)
	}
	if err := x.f.root.Remove(name); err != nil {
		return fmt.Errorf("replace %q: %w", name, err)
	}
	return nil
}

// file writes a regular file of at most declared bytes (declared < 0:
// unknown), within the extraction budget.
func (x *extractor) file(name string, r io.Reader, mode fs.FileMode, declared int64) error {
	left := int64(-1)
	if x.maxBytes >= 0 {
		left = x.maxBytes - x.written
		if declared > left {
			return fmt.Errorf("archive entry %q (%d bytes) exceeds the extraction limit of %d bytes", name, declared, x.maxBytes)
		}
	}
	if err := x.makeParent(name); err != nil {
		return err
	}
	perm := mode.Perm() // setuid, setgid and sticky bits are dropped
	out, err := x.f.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create %q: %w", name, err)
	}
	src := r
	if left >= 0 {
		src = io.LimitReader(r, left+1)
	}
	n, err := io.Copy(out, src)
	x.written += n
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	if left >= 0 && n > left {
		_ = x.f.root.Remove(name)
		return fmt.Errorf("archive entry %q exceeds the extraction limit of %d bytes", name, x.maxBytes)
	}
	if err := x.f.root.Chmod(name, perm); err != nil { // undo the umask
		return fmt.Errorf("chmod %q: %w", name, err)
	}
	return nil
}

func (x *extractor) symlink(name, target string) error {
	if target == "" {
		return fmt.Errorf("symlink %q has an empty target", name)
	}
	if strings.HasPrefix(target, "/") {
		return fmt.Errorf("symlink %q -> %q: absolute target %w", name, target, errEscape)
	}
	if err := resolveInRoot(x.f.root, path.Dir(name)+"/"+target); err != nil {
		return fmt.Errorf("symlink %q -> %q: %w", name, target, err)
	}
	if err := x.makeParent(name); err != nil {
		return err
	}
	if err := x.f.root.Symlink(target, name); err != nil {
		return fmt.Errorf("create symlink %q: %w", name, err)
	}
	return nil
}

func (x *extractor) hardlink(name, target string) error {
	old, err := entryName(target)
	if err != nil || old == "" {
		return fmt.Errorf("hard link %q -> %q: target %w", name, target, errEscape)
	}
	if err := resolveInRoot(x.f.root, old); err != nil {
		return fmt.Errorf("hard link %q -> %q: %w", name, target, err)
	}
	if err := x.makeParent(name); err != nil {
		return err
	}
	if err := x.f.root.Link(old, name); err != nil {
		return fmt.Errorf("create hard link %q: %w", name, err)
	}
	return nil
}

// cappedReader fails once more than left bytes were read.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("decompressed archive is too large")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
