package fetcher

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestLzma2Dict(t *testing.T) {
	tests := []struct {
		code byte
		want int64
	}{{0, 4 << 10}, {1, 6 << 10}, {18, 2 << 20}, {22, 8 << 20}, {26, 32 << 20}, {40, 1<<32 - 1}}
	for _, tc := range tests {
		if got := lzma2Dict(tc.code); got != tc.want {
			t.Errorf("lzma2Dict(%d) = %d, want %d", tc.code, got, tc.want)
		}
	}
}

func TestXzDictionaryLimit(t *testing.T) {
	good := xzBytes(t, makeTar(t, entry{name: "a", body: "xz"}))
	if dict, ok := firstXzDict(good); !ok || dict != 8<<20 {
		t.Fatalf("firstXzDict = %d, %v; want the writer's 8 MiB", dict, ok)
	}
	// Patch the LZMA2 filter's dictionary property (filter id 0x21, one
	// property byte) in the first block header to ask for 4 GiB.
	hostile := bytes.Clone(good)
	i := bytes.Index(hostile[12:], []byte{0x21, 0x01})
	if i < 0 {
		t.Fatal("no LZMA2 filter flags in the block header")
	}
	hostile[12+i+2] = 40
	if dict, ok := firstXzDict(hostile); !ok || dict != 1<<32-1 {
		t.Fatalf("firstXzDict(hostile) = %d, %v", dict, ok)
	}
	srv := serve(t, map[string][]byte{"/good.txz": good, "/bomb.tar.xz": hostile})
	sandbox, _ := newSandbox(t)
	if err := Fetch(context.Background(), sandbox, []URI{{Value: srv.URL + "/good.txz", Extract: true}}, Options{}); err != nil {
		t.Fatal(err)
	}
	err := Fetch(context.Background(), sandbox, []URI{{Value: srv.URL + "/bomb.tar.xz", Extract: true}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "xz dictionary of 4095 MiB is over the limit of 256 MiB") {
		t.Fatalf("err = %v", err)
	}
	for _, junk := range [][]byte{nil, []byte("\xfd7zXZ\x00"), []byte("not xz at all, not at all")} {
		if _, ok := firstXzDict(junk); ok {
			t.Errorf("firstXzDict(%q) claimed a dictionary", junk)
		}
	}
}
