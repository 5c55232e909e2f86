package master

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"strata/kernel/mesos/recordio"
)

// chunkRecorder is an http.ResponseWriter that records what each Flush sends: net/http turns the
// bytes written between two flushes of a streaming response into one HTTP chunk.
type chunkRecorder struct {
	header  http.Header
	pending []byte
	chunks  [][]byte
}

func (r *chunkRecorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

func (r *chunkRecorder) WriteHeader(int) {}

func (r *chunkRecorder) Write(p []byte) (int, error) {
	r.pending = append(r.pending, p...)
	return len(p), nil
}

func (r *chunkRecorder) Flush() {
	if len(r.pending) > 0 {
		r.chunks = append(r.chunks, r.pending)
		r.pending = nil
	}
}

// TestEventStreamOneRecordPerChunk pins that every event goes out as its own HTTP chunk, even when
// several are queued at once, as Mesos' libprocess streams them. Third-party clients depend on it:
// the npm package mesos-framework (kernel/e2e/testdata/mesos-framework) parses each chunk it
// receives as exactly one "length\n" + record and fails with "Other linebreak count found than
// expected" on a chunk that holds two records; kernel/e2e's TestInteropNodeMesosFramework runs it.
func TestEventStreamOneRecordPerChunk(t *testing.T) {
	recs := [][]byte{
		[]byte(`{"type":"SUBSCRIBED"}`),
		[]byte(`{"type":"OFFERS"}`),
		[]byte(`{"type":"UPDATE"}`),
		[]byte(`{"type":"UPDATE","update":{}}`),
	}
	s := newEventStream("test")
	for _, r := range recs {
		if !s.send(r) {
			t.Fatal("send on an open stream failed")
		}
	}
	s.close("test over")
	w := &chunkRecorder{}
	if err := s.serve(context.Background(), w); !errors.Is(err, errStreamClosed) {
		t.Fatalf("serve: %v, want errStreamClosed", err)
	}
	if len(w.pending) > 0 {
		t.Fatalf("%q written but never flushed", w.pending)
	}
	if len(w.chunks) != len(recs) {
		t.Fatalf("%d records went out in %d chunks %q, want one chunk per record", len(recs), len(w.chunks), w.chunks)
	}
	for i, r := range recs {
		if want := recordio.AppendRecord(nil, r); !bytes.Equal(w.chunks[i], want) {
			t.Errorf("chunk %d = %q, want %q", i, w.chunks[i], want)
		}
	}
}
