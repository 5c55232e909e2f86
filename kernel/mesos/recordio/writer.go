package recordio

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// copyLimit is the largest payload that WriteRecord copies next to its
// header so that header and payload go out in a single Write call. Larger
// payloads are written with two calls to avoid the copy.
const copyLimit = 64 << 10

// errorFlusher is implemented by writers such as bufio.Writer.
type errorFlusher interface {
	Flush() error
}

// Writer writes RecordIO records to an underlying io.Writer. It is safe for
// concurrent use: records from different goroutines never interleave.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	flush   func() error
	scratch []byte
}

// NewWriter returns a Writer that frames records onto w. If w implements
// http.Flusher, or has a Flush() error method, it is flushed after every
// record.
func NewWriter(w io.Writer) *Writer {
	rw := &Writer{w: w}
	switch f := w.(type) {
	case http.Flusher:
		rw.flush = func() error { f.Flush(); return nil }
	case errorFlusher:
		rw.flush = f.Flush
	}
	return rw
}

// AppendRecord appends the framed form of payload to dst and returns the
// extended slice.
func AppendRecord(dst, payload []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(len(payload)), 10)
	dst = append(dst, '\n')
	return append(dst, payload...)
}

// WriteRecord writes one record holding payload and flushes the underlying
// writer when it can be flushed. An empty payload is refused, since a zero
// length is not valid RecordIO.
func (w *Writer) WriteRecord(payload []byte) error {
	if len(payload) == 0 {
		return fmt.Errorf("recordio: write: %w", ErrZeroLength)
	}
	w.mu.Lock()
	defer w.mu.Unlock()

	if len(payload) <= copyLimit {
		w.scratch = AppendRecord(w.scratch[:0], payload)
		if _, err := w.w.Write(w.scratch); err != nil {
			return fmt.Errorf("recordio: write record: %w", err)
		}
		if cap(w.scratch) > 2*copyLimit {
			w.scratch = nil
		}
	} else {
		var hdr [24]byte
		h := strconv.AppendUint(hdr[:0], uint64(len(payload)), 10)
		h = append(h, '\n')
		if _, err := w.w.Write(h); err != nil {
			return fmt.Errorf("recordio: write length: %w", err)
		}
		if _, err := w.w.Write(payload); err != nil {
			return fmt.Errorf("recordio: write record: %w", err)
		}
	}
	if w.flush != nil {
		if err := w.flush(); err != nil {
			return fmt.Errorf("recordio: flush: %w", err)
		}
	}
	return nil
}
