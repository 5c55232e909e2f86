package master

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"strata/kernel/mesos/recordio"
)

// flushCounter is an http.ResponseWriter that counts flushes (HTTP chunks of a streaming answer).
type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Header() http.Header { return http.Header{} }
func (f *flushCounter) WriteHeader(int)     {}
func (f *flushCounter) Flush()              { f.flushes++ }

// TestAgentStreamCoalesces checks that an agent's control stream sends what was queued at once in
// one chunk, and that the records still read back one by one with a RecordIO reader.
func TestAgentStreamCoalesces(t *testing.T) {
	recs := [][]byte{[]byte("run-task-1"), []byte("run-task-2"), []byte("run-task-3")}
	s := newAgentStream("agent")
	for _, r := range recs {
		if !s.send(r) {
			t.Fatal("send on an open stream failed")
		}
	}
	s.close("test over")
	w := &flushCounter{}
	if err := s.serve(context.Background(), w); !errors.Is(err, errStreamClosed) {
		t.Fatalf("serve: %v, want errStreamClosed", err)
	}
	if w.flushes != 1 {
		t.Fatalf("%d flushes for one burst, want 1", w.flushes)
	}
	rd := recordio.NewReader(&w.Buffer)
	for _, want := range recs {
		got, err := rd.ReadRecord()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("record %q %v, want %q", got, err, want)
		}
	}
}
