package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors of Resolve.
var (
	ErrNotFound  = errors.New("files: not found")
	ErrForbidden = errors.New("files: path is inaccessible")
)

// Server maps attached names to directories and serves them.
type Server struct {
	log *slog.Logger

	mu    sync.RWMutex
	paths map[string]string // cleaned name -> resolved real path
}

// New returns an empty Server.
func New(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{log: logger.With("component", "files"), paths: make(map[string]string)}
}

// cleanName turns a request path or attach name into its canonical form:
// absolute, lexically cleaned, no trailing slash.
func cleanName(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}

// Attach makes the file or directory realPath reachable under name. Names
// are cleaned; attaching a name again replaces it.
func (s *Server) Attach(realPath, name string) error {
	resolved, err := filepath.EvalSymlinks(realPath)
	if err != nil {
		return fmt.Errorf("files: attach %s: %w", realPath, err)
	}
	resolved, err = filepath.Abs(resolved)
	if err != nil {
		return fmt.Errorf("files: attach %s: %w", realPath, err)
	}
	s.mu.Lock()
	s.paths[cleanName(name)] = resolved
	s.mu.Unlock()
	return nil
}

// Detach removes an attached name.
func (s *Server) Detach(name string) {
	s.mu.Lock()
	delete(s.paths, cleanName(name))
	s.mu.Unlock()
}

// Attached returns a copy of the name -> path table.
func (s *Server) Attached() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(s.paths))
	for k, v := range s.paths {
		out[k] = v
	}
	return out
}

// Resolve maps a request path to a real path inside an attached root.
func (s *Server) Resolve(p string) (string, error) {
	name := cleanName(p)
	s.mu.RLock()
	root, suffix, ok := "", "", false
	for prefix := name; ; prefix = path.Dir(prefix) {
		if r, found := s.paths[prefix]; found {
			root, ok = r, true
			if prefix == "/" {
				suffix = strings.TrimPrefix(name, "/")
			} else {
				suffix = strings.TrimPrefix(strings.TrimPrefix(name, prefix), "/")
			}
			break
		}
		if prefix == "/" {
			break
		}
	}
	s.mu.RUnlock()
	if !ok {
		return "", ErrNotFound
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", ErrNotFound
	}
	if !fi.IsDir() {
		if suffix != "" {
			return "", ErrNotFound
		}
		return root, nil
	}
	joined := filepath.Join(root, filepath.FromSlash(suffix))
	real, err := filepath.EvalSymlinks(joined)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", ErrNotFound
		}
		return "", fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: %s", ErrForbidden, p)
	}
	return real, nil
}

// writeJSON answers 200 with a JSON body and the exact Content-Type.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// resolveRequest reads the path parameter and resolves it, answering the
// error itself when it fails.
func (s *Server) resolveRequest(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	p := r.URL.Query().Get("path")
	if p == "" {
		textError(w, http.StatusBadRequest, "Expecting 'path=value' in query.\n")
		return "", "", false
	}
	real, err := s.Resolve(p)
	switch {
	case errors.Is(err, ErrNotFound):
		textError(w, http.StatusNotFound, "")
		return "", "", false
	case err != nil:
		textError(w, http.StatusForbidden, fmt.Sprintf("'%s' is inaccessible.\n", p))
		return "", "", false
	}
	return p, real, true
}

// FileInfo is one entry of a browse answer.
type FileInfo struct {
	Path  string  `json:"path"`
	Nlink uint64  `json:"nlink"`
	Size  int64   `json:"size"`
	Mtime float64 `json:"mtime"`
	Mode  string  `json:"mode"`
	UID   string  `json:"uid"`
	GID   string  `json:"gid"`
}

// List returns the entries of a directory (or the file itself), sorted by
// path, with paths expressed under the requested (virtual) path.
func (s *Server) List(p string) ([]FileInfo, error) {
	real, err := s.Resolve(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, ErrNotFound
	}
	if !fi.IsDir() {
		return []FileInfo{info(cleanName(p), fi)}, nil
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		return nil, fmt.Errorf("files: browse %s: %w", p, err)
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		st, err := os.Stat(filepath.Join(real, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, info(path.Join(cleanName(p), e.Name()), st))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func info(p string, fi os.FileInfo) FileInfo {
	out := FileInfo{Path: p, Size: fi.Size(), Mode: ModeString(fi.Mode()),
		Mtime: float64(fi.ModTime().Unix())}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.Nlink = uint64(st.Nlink)
		out.UID = userName(st.Uid)
		out.GID = groupName(st.Gid)
	}
	return out
}

var (
	namesMu sync.Mutex
	users   = map[uint32]string{}
	groups  = map[uint32]string{}
)

func userName(uid uint32) string {
	namesMu.Lock()
	defer namesMu.Unlock()
	if n, ok := users[uid]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(n); err == nil {
		n = u.Username
	}
	users[uid] = n
	return n
}

func groupName(gid uint32) string {
	namesMu.Lock()
	defer namesMu.Unlock()
	if n, ok := groups[gid]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(n); err == nil {
		n = g.Name
	}
	groups[gid] = n
	return n
}

// ModeString renders a mode like ls -l: "drwxr-xr-x", "-rw-r--r--".
func ModeString(m fs.FileMode) string {
	b := []byte("----------")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(idx int, set bool, upper, lower byte) {
		if !set {
			return
		}
		if b[idx] == 'x' {
			b[idx] = lower
		} else {
			b[idx] = upper
		}
	}
	special(3, m&fs.ModeSetuid != 0, 'S', 's')
	special(6, m&fs.ModeSetgid != 0, 'S', 's')
	special(9, m&fs.ModeSticky != 0, 'T', 't')
	return string(b)
}

// MaxReadLength is the cap of one read: 16 pages.
func MaxReadLength() int64 { return int64(16 * os.Getpagesize()) }

// ErrBadRange reports an invalid offset or length.
var ErrBadRange = errors.New("files: invalid offset or length")

// ReadAt reads up to length bytes (-1: to the end, capped) at offset (-1:
// just report the size). It returns the data, the offset the data starts at
// (the size when offset is -1 or past the end) and the file size.
func (s *Server) ReadAt(p string, offset, length int64) ([]byte, int64, int64, error) {
	if offset < -1 || length < -1 {
		return nil, 0, 0, ErrBadRange
	}
	real, err := s.Resolve(p)
	if err != nil {
		return nil, 0, 0, err
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, 0, 0, ErrNotFound
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("files: read %s: %w", p, err)
	}
	if fi.IsDir() {
		return nil, 0, 0, errIsDir
	}
	size := fi.Size()
	if offset == -1 || offset >= size {
		return nil, size, size, nil
	}
	if length == -1 || length > size-offset {
		length = size - offset
	}
	length = min(length, MaxReadLength())
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, 0, fmt.Errorf("files: read %s: %w", p, err)
	}
	return buf[:n], offset, size, nil
}

var errIsDir = errors.New("files: is a directory")

func parseInt(r *http.Request, name string) (int64, bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return -1, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, true, fmt.Errorf("Failed to parse %s: %v.\n", name, err)
	}
	return n, true, nil
}

// Read serves /files/read.
func (s *Server) Read(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if p == "" {
		textError(w, http.StatusBadRequest, "Expecting 'path=value' in query.\n")
		return
	}
	offset, _, err := parseInt(r, "offset")
	if err != nil {
		textError(w, http.StatusBadRequest, err.Error())
		return
	}
	if offset < -1 {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Negative offset provided: %d.\n", offset))
		return
	}
	length, _, err := parseInt(r, "length")
	if err != nil {
		textError(w, http.StatusBadRequest, err.Error())
		return
	}
	if length < -1 {
		textError(w, http.StatusBadRequest, fmt.Sprintf("Negative length provided: %d.\n", length))
		return
	}
	data, off, _, err := s.ReadAt(p, offset, length)
	switch {
	case errors.Is(err, ErrNotFound):
		textError(w, http.StatusNotFound, "")
		return
	case errors.Is(err, ErrForbidden):
		textError(w, http.StatusForbidden, fmt.Sprintf("'%s' is inaccessible.\n", p))
		return
	case errors.Is(err, errIsDir):
		textError(w, http.StatusBadRequest, "Cannot read a directory.\n")
		return
	case err != nil:
		textError(w, http.StatusInternalServerError, err.Error()+"\n")
		return
	}
	writeJSON(w, struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}{string(data), off})
}

// Browse serves /files/browse.
func (s *Server) Browse(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.resolveRequest(w, r)
	if !ok {
		return
	}
	list, err := s.List(p)
	switch {
	case errors.Is(err, ErrNotFound):
		textError(w, http.StatusNotFound, "")
	case err != nil:
		textError(w, http.StatusInternalServerError, err.Error()+"\n")
	default:
		writeJSON(w, list)
	}
}

// Download serves /files/download: the raw bytes, with Range support.
func (s *Server) Download(w http.ResponseWriter, r *http.Request) {
	_, real, ok := s.resolveRequest(w, r)
	if !ok {
		return
	}
	f, err := os.Open(real)
	if err != nil {
		textError(w, http.StatusNotFound, "")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		textError(w, http.StatusInternalServerError, err.Error()+"\n")
		return
	}
	if fi.IsDir() {
		textError(w, http.StatusBadRequest, "Cannot download a directory.\n")
		return
	}
	base := filepath.Base(real)
	ct := mime.TypeByExtension(filepath.Ext(base))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", "attachment; filename="+base)
	http.ServeContent(w, r, base, fi.ModTime().Truncate(time.Second), f)
}

// Debug serves /files/debug: the attached name -> path table.
func (s *Server) Debug(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.Attached())
}
