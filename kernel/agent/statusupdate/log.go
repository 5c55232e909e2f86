package statusupdate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/recordio"
)

const (
	kindUpdate = 'U'
	kindAck    = 'A'
)

// record is one entry of a task.updates file.
type record struct {
	update *internalpb.AgentCall_StatusUpdate // kind 'U'
	ack    []byte                             // kind 'A'
}

// appendRecord durably appends one record to the file at path.
func appendRecord(path string, r record) error {
	var payload []byte
	if r.update != nil {
		b, err := proto.MarshalOptions{AllowPartial: true, Deterministic: true}.Marshal(r.update)
		if err != nil {
			return fmt.Errorf("statusupdate: encode update: %w", err)
		}
		payload = append([]byte{kindUpdate}, b...)
	} else {
		payload = append([]byte{kindAck}, r.ack...)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("statusupdate: checkpoint: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("statusupdate: checkpoint: %w", err)
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	_, werr := f.Write(recordio.AppendRecord(nil, payload))
	if werr == nil {
		werr = f.Sync()
	}
	if werr != nil && size >= 0 {
		// A short write (a full disk) must not leave half a record for the
		// next one to follow: it would make the rest of the file unreadable.
		_ = f.Truncate(size)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("statusupdate: checkpoint %s: %w", path, werr)
	}
	return nil
}

// errTruncated marks a record cut short at the end of the data.
var errTruncated = errors.New("truncated record")

// parseRecords decodes the content of a task.updates file. It returns the
// whole records and the length of the prefix they occupy; a final record cut
// short is reported with errTruncated alongside the records before it.
func parseRecords(data []byte) ([]record, int, error) {
	var out []record
	off := 0
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			if nl = len(data) - off; nl > 20 {
				return out, off, fmt.Errorf("statusupdate: record at %d: bad length", off)
			}
			return out, off, errTruncated
		}
		n, err := strconv.ParseUint(string(data[off:off+nl]), 10, 63)
		if err != nil || n == 0 {
			return out, off, fmt.Errorf("statusupdate: record at %d: bad length %q", off, data[off:off+nl])
		}
		start := off + nl + 1
		if uint64(len(data)-start) < n {
			return out, off, errTruncated
		}
		payload := data[start : start+int(n)]
		var r record
		switch payload[0] {
		case kindUpdate:
			u := &internalpb.AgentCall_StatusUpdate{}
			if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(payload[1:], u); err != nil {
				return out, off, fmt.Errorf("statusupdate: record at %d: %w", off, err)
			}
			r.update = u
		case kindAck:
			r.ack = append([]byte(nil), payload[1:]...)
		default:
			return out, off, fmt.Errorf("statusupdate: record at %d: unknown kind %q", off, payload[0])
		}
		out = append(out, r)
		off = start + int(n)
	}
	return out, off, nil
}

// readLog reads a task.updates file, repairing a torn tail.
func readLog(path string) ([]record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("statusupdate: %w", err)
	}
	recs, good, err := parseRecords(data)
	if errors.Is(err, errTruncated) {
		if terr := os.Truncate(path, int64(good)); terr != nil {
			return nil, fmt.Errorf("statusupdate: repair %s: %w", path, terr)
		}
		return recs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("statusupdate: %s: %w", path, err)
	}
	return recs, nil
}
