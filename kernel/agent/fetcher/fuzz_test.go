package fetcher

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// fuzzKinds maps the first byte of a fuzz input to the archive kind and file
// name the rest of the input is extracted as.
var fuzzKinds = []struct {
	kind archiveKind
	name string
}{
	{tarPlain, "in.tar"},
	{tarGzip, "in.tgz"},
	{zipArchive, "in.zip"},
	{gzipFile, "in.gz"},
	{tarXz, "in.txz"},
	{tarBzip2, "in.tbz2"},
}

// FuzzExtract feeds arbitrary archives to the extractor and checks that it
// neither panics nor writes outside the sandbox, and that a successful
// extraction leaves no symlink leading out of it.
func FuzzExtract(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		k := fuzzKinds[int(data[0])%len(fuzzKinds)]
		parent := t.TempDir()
		sandbox := filepath.Join(parent, "sandbox")
		if err := os.Mkdir(sandbox, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sandbox, k.name), data[1:], 0o644); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(sandbox)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		fe := &fetch{ctx: context.Background(), root: root, sandbox: sandbox, opts: Options{
			Log:               io.Discard,
			Logger:            slog.New(slog.DiscardHandler),
			MaxExtractBytes:   64 << 10,
			MaxExtractEntries: 64,
		}}
		extractErr := fe.extract(k.kind, k.name)

		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "sandbox" {
			t.Fatalf("extraction wrote next to the sandbox: %v", entries)
		}
		if extractErr == nil {
			if err := auditSymlinks(root); err != nil {
				t.Fatalf("successful extraction left an escaping symlink: %v", err)
			}
		}
	})
}
