package recordio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestWriterFraming(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, rec := range []string{"hello", `{"type":"HEARTBEAT"}`, "x"} {
		if err := w.WriteRecord([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	want := "5\nhello20\n{\"type\":\"HEARTBEAT\"}1\nx"
	if got := buf.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestWriterLargeRecord(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	payload := bytes.Repeat([]byte("a"), copyLimit+10)
	if err := w.WriteRecord(payload); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	got, err := r.ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("payload mismatch: %d bytes", len(got))
	}
}

func TestWriterRejectsEmpty(t *testing.T) {
	var buf bytes.Buffer
	err := NewWriter(&buf).WriteRecord(nil)
	if !errors.Is(err, ErrZeroLength) {
		t.Fatalf("err = %v, want ErrZeroLength", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("wrote %q", buf.String())
	}
}

func TestWriterFlushesHTTP(t *testing.T) {
	rec := httptest.NewRecorder()
	w := NewWriter(rec)
	if err := w.WriteRecord([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Fatal("http.Flusher was not flushed")
	}
	if rec.Body.String() != "3\nabc" {
		t.Fatalf("body %q", rec.Body.String())
	}
}

func TestWriterFlushesBufio(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriterSize(&out, 4096)
	w := NewWriter(bw)
	if err := w.WriteRecord([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "3\nabc" {
		t.Fatalf("not flushed: %q", out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestWriterError(t *testing.T) {
	err := NewWriter(failWriter{}).WriteRecord([]byte("x"))
	if err == nil || !strings.HasPrefix(err.Error(), "recordio: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestReaderSplitsAcrossChunks(t *testing.T) {
	stream := AppendRecord(nil, []byte("first"))
	stream = AppendRecord(stream, []byte(strings.Repeat("0123456789", 10000)))
	stream = AppendRecord(stream, []byte("z"))
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"onebyte":  func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"halfread": func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
		"dataerr":  func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) },
	}
	for name, mk := range readers {
		t.Run(name, func(t *testing.T) {
			r := NewReader(mk())
			var got []string
			for {
				rec, err := r.ReadRecord()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(rec))
			}
			if len(got) != 3 || got[0] != "first" || len(got[1]) != 100000 || got[2] != "z" {
				t.Fatalf("got %d records", len(got))
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		records int // records read successfully before the error
		want    error
	}{
		{"empty stream", "", 0, 0, io.EOF},
		{"zero length", "0\n", 0, 0, ErrZeroLength},
		{"leading zeros only", "000\n", 0, 0, ErrZeroLength},
		{"letter", "1a\nx", 0, 0, ErrInvalidLength},
		{"sign", "+1\nx", 0, 0, ErrInvalidLength},
		{"space", " 1\nx", 0, 0, ErrInvalidLength},
		{"crlf", "1\r\nx", 0, 0, ErrInvalidLength},
		{"empty length", "\nabc", 0, 0, ErrInvalidLength},
		{"too many digits", strings.Repeat("0", 21) + "1\nx", 0, 0, ErrInvalidLength},
		{"over limit", "11\nhello world", 10, 0, ErrRecordTooLarge},
		{"at limit", "10\nhelloworld", 10, 1, io.EOF},
		{"limit one", "2\nab", 1, 0, ErrRecordTooLarge},
		{"uint64 overflow", "99999999999999999999\n", 0, 0, ErrRecordTooLarge},
		{"huge announced", "18446744073709551615\n", 0, 0, ErrRecordTooLarge},
		{"truncated length", "12", 0, 0, io.ErrUnexpectedEOF},
		{"truncated data", "5\nab", 0, 0, io.ErrUnexpectedEOF},
		{"second truncated", "1\na5\nab", 0, 1, io.ErrUnexpectedEOF},
		{"trailing newline is a bad length", "1\na\n", 0, 1, ErrInvalidLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), WithMaxRecordSize(tc.max))
			for i := 0; i < tc.records; i++ {
				if _, err := r.ReadRecord(); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			_, err := r.ReadRecord()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != io.EOF && !strings.HasPrefix(err.Error(), "recordio: ") {
				t.Fatalf("error lacks prefix: %v", err)
			}
			// The error is sticky.
			if _, err2 := r.ReadRecord(); !errors.Is(err2, tc.want) {
				t.Fatalf("second err = %v", err2)
			}
		})
	}
}

// TestReaderDoesNotPreallocate announces a 60 MiB record but sends three
// bytes: the Reader must not allocate anywhere near the announced size.
func TestReaderDoesNotPreallocate(t *testing.T) {
	var before, after runtime.MemStats
	r := NewReader(strings.NewReader("62914560\nabc"))
	runtime.ReadMemStats(&before)
	_, err := r.ReadRecord()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes for a 3-byte truncated record", grew)
	}
}

func TestReaderDefaultMax(t *testing.T) {
	if got := NewReader(strings.NewReader("")).MaxRecordSize(); got != DefaultMaxRecordSize {
		t.Fatalf("max = %d", got)
	}
	if got := NewReader(strings.NewReader(""), WithMaxRecordSize(0)).MaxRecordSize(); got != DefaultMaxRecordSize {
		t.Fatalf("max = %d", got)
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	want := [][]byte{[]byte("a"), bytes.Repeat([]byte{0, '\n', 0xff}, 1000), []byte("\n")}
	for _, p := range want {
		if err := w.WriteRecord(p); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf)
	for i, p := range want {
		got, err := r.ReadRecord()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("record %d mismatch", i)
		}
	}
	if _, err := r.ReadRecord(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("5\nhello3\nabc"), 0)
	f.Add([]byte("0\n"), 0)
	f.Add([]byte("99999999999999999999999\n"), 0)
	f.Add([]byte("3\nab"), 2)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max < 0 || max > 1<<20 {
			max = 1 << 20
		}
		r := NewReader(bytes.NewReader(data), WithMaxRecordSize(max))
		var total int
		for i := 0; ; i++ {
			rec, err := r.ReadRecord()
			if err != nil {
				break
			}
			if len(rec) == 0 || len(rec) > r.MaxRecordSize() {
				t.Fatalf("record of %d bytes (max %d)", len(rec), r.MaxRecordSize())
			}
			total += len(rec)
			if total > len(data) {
				t.Fatalf("read %d payload bytes from %d input bytes", total, len(data))
			}
			// Re-framing a record reproduces its bytes in the input.
			if !bytes.Contains(data, AppendRecord(nil, rec)) {
				t.Fatalf("record %d not found framed in input", i)
			}
		}
	})
}
