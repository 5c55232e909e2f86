package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxRecordSize is the largest record a Reader accepts unless told
// otherwise.
const DefaultMaxRecordSize = 64 << 20

// maxLengthDigits bounds the length prefix: a uint64 has at most 20 digits.
// Leading zeros beyond that are not tolerated either.
const maxLengthDigits = 20

// initialChunk is the most a Reader allocates for a record before any of its
// payload has been read.
const initialChunk = 32 << 10

// Errors returned (wrapped) by Reader and Writer. Use errors.Is to test.
var (
	// ErrZeroLength reports a record whose length prefix is 0.
	ErrZeroLength = errors.New("record length is zero")
	// ErrInvalidLength reports a length prefix that is empty, too long or
	// holds a byte that is not a decimal digit.
	ErrInvalidLength = errors.New("invalid record length")
	// ErrRecordTooLarge reports a length prefix above the Reader's limit.
	ErrRecordTooLarge = errors.New("record too large")
)

// Option configures a Reader.
type Option func(*Reader)

// WithMaxRecordSize sets the largest record length a Reader accepts. Values
// below 1 select DefaultMaxRecordSize.
func WithMaxRecordSize(n int) Option {
	return func(r *Reader) {
		if n < 1 {
			n = DefaultMaxRecordSize
		}
		r.max = uint64(n)
	}
}

// Reader reads RecordIO records from an io.Reader. It is not safe for
// concurrent use. After an error other than io.EOF the stream is out of sync
// and the Reader keeps returning that error.
type Reader struct {
	br  *bufio.Reader
	max uint64
	err error
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader, opts ...Option) *Reader {
	rd := &Reader{max: DefaultMaxRecordSize}
	for _, o := range opts {
		o(rd)
	}
	if br, ok := r.(*bufio.Reader); ok {
		rd.br = br
	} else {
		rd.br = bufio.NewReader(r)
	}
	return rd
}

// MaxRecordSize reports the largest record length the Reader accepts.
func (r *Reader) MaxRecordSize() int { return int(r.max) }

// ReadRecord returns the payload of the next record in a newly allocated
// slice. At the clean end of the stream (no partial record pending) it
// returns io.EOF; a stream that ends inside a record yields an error wrapping
// io.ErrUnexpectedEOF.
func (r *Reader) ReadRecord() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.readRecord()
	if err != nil {
		r.err = err
		return nil, err
	}
	return rec, nil
}

func (r *Reader) readRecord() ([]byte, error) {
	n, err := r.readLength()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, min(n, initialChunk))
	for uint64(len(buf)) < n {
		if len(buf) == cap(buf) {
			// Grow by doubling, never beyond the announced size.
			next := min(uint64(cap(buf))*2, n)
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		m, err := r.br.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if uint64(len(buf)) == n {
				break
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("recordio: read record (%d of %d bytes): %w", len(buf), n, err)
		}
	}
	return buf, nil
}

// readLength parses the decimal length prefix and its newline.
func (r *Reader) readLength() (uint64, error) {
	var (
		n      uint64
		digits int
	)
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if digits == 0 {
					return 0, io.EOF
				}
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("recordio: read length: %w", err)
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("recordio: read length: %w: unexpected byte %q", ErrInvalidLength, c)
		}
		digits++
		if digits > maxLengthDigits {
			return 0, fmt.Errorf("recordio: read length: %w: more than %d digits", ErrInvalidLength, maxLengthDigits)
		}
		d := uint64(c - '0')
		if d > r.max || n > (r.max-d)/10 {
			return 0, fmt.Errorf("recordio: read length: %w: exceeds limit of %d bytes", ErrRecordTooLarge, r.max)
		}
		n = n*10 + d
	}
	if digits == 0 {
		return 0, fmt.Errorf("recordio: read length: %w: empty", ErrInvalidLength)
	}
	if n == 0 {
		return 0, fmt.Errorf("recordio: read length: %w", ErrZeroLength)
	}
	return n, nil
}
