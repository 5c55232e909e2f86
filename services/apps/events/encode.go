package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// TimestampLayout is the layout of the timestamp field of every event: ISO-8601 in UTC with
// milliseconds, as Marathon writes it ("2014-03-01T23:29:30.158Z").
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// ErrBadLastEventID is returned by ParseLastEventID for a value that is not a decimal event id.
var ErrBadLastEventID = errors.New("events: last event id is not a decimal number")

// Event is one published event. Its fields must not be modified: one Event is shared by the ring
// and by every subscriber.
type Event struct {
	// ID is the bus-wide, monotonically increasing event id (the SSE id line).
	ID uint64
	// Type is the Marathon event type, e.g. "status_update_event" (the SSE event line).
	Type string
	// Data is the JSON object of the event, with eventType and timestamp (the SSE data line).
	Data []byte

	// frame is the whole SSE frame; Data points into it.
	frame []byte
}

// Frame returns the event as one server-sent events frame: the id, event and data lines and the
// blank line that ends the frame. The returned slice must not be modified.
func (e *Event) Frame() []byte { return e.frame }

// newEvent builds an Event and its SSE frame; Data shares the frame's memory.
func newEvent(id uint64, eventType string, data []byte) *Event {
	frame := make([]byte, 0, len("id: \nevent: \ndata: \n\n")+20+len(eventType)+len(data))
	frame = append(frame, "id: "...)
	frame = strconv.AppendUint(frame, id, 10)
	frame = append(frame, "\nevent: "...)
	frame = append(frame, eventType...)
	frame = append(frame, '\n')
	var view []byte
	if bytes.IndexAny(data, "\r\n") < 0 {
		frame = append(frame, "data: "...)
		start := len(frame)
		frame = append(frame, data...)
		view = frame[start:len(frame):len(frame)]
		frame = append(frame, '\n', '\n')
	} else {
		frame = appendDataLines(frame, data)
		frame = append(frame, '\n')
		view = append([]byte(nil), data...)
	}
	return &Event{ID: id, Type: eventType, Data: view, frame: frame}
}

// appendDataLines appends data as SSE data lines. JSON written by encoding/json never holds a raw
// line break, so this is one line; a CR or LF would otherwise end the field early, and each line
// becomes a data line of its own, which SSE clients join again with "\n".
func appendDataLines(dst, data []byte) []byte {
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			dst = append(dst, "data: "...)
			dst = append(dst, data...)
			return append(dst, '\n')
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// validEventType reports whether t may be used as an event type: it ends up alone on the SSE event
// line and unescaped in the JSON, so it is limited to letters, digits, '_', '-' and '.'.
func validEventType(t string) error {
	if t == "" {
		return errors.New("events: empty event type")
	}
	if len(t) > 128 {
		return fmt.Errorf("events: event type of %d bytes is too long", len(t))
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("events: event type %q: byte %q is not allowed", t, c)
		}
	}
	return nil
}

// knownShape is implemented by the event structs of this package: their JSON never carries
// eventType or timestamp, so the encoder need not look for them.
type knownShape interface{ withoutEnvelope() }

// encodable is implemented by payloads that are encoded as another value.
type encodable interface{ encodable() any }

// encodePayload encodes payload as the JSON object of an event of type eventType, adding eventType
// and timestamp at the end of the object when the payload lacks them. A payload that carries
// eventType must carry the same type.
func encodePayload(eventType string, payload any, now time.Time) ([]byte, error) {
	value := payload
	if e, ok := payload.(encodable); ok && !isNilPointer(payload) {
		value = e.encodable()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return nil, fmt.Errorf("events: encode %s payload: %w", eventType, err)
	}
	data := bytes.TrimRight(buf.Bytes(), "\n")
	if len(data) < 2 || data[0] != '{' {
		return nil, fmt.Errorf("events: %s payload of type %T is not a JSON object", eventType, payload)
	}
	hasType, hasTime := false, false
	if _, ok := payload.(knownShape); !ok {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, fmt.Errorf("events: decode %s payload: %w", eventType, err)
		}
		if raw, ok := top["eventType"]; ok {
			var got string
			if err := json.Unmarshal(raw, &got); err != nil || got != eventType {
				return nil, fmt.Errorf("events: payload eventType %s differs from %q", raw, eventType)
			}
			hasType = true
		}
		_, hasTime = top["timestamp"]
	}
	if hasType && hasTime {
		return data, nil
	}
	out := make([]byte, 0, len(data)+len(`,"eventType":"","timestamp":"2006-01-02T15:04:05.000Z"`)+len(eventType))
	out = append(out, data[:len(data)-1]...)
	sep := len(bytes.TrimSpace(data[1:len(data)-1])) > 0
	if !hasType {
		if sep {
			out = append(out, ',')
		}
		out = append(out, `"eventType":"`...)
		out = append(out, eventType...)
		out = append(out, '"')
		sep = true
	}
	if !hasTime {
		if sep {
			out = append(out, ',')
		}
		out = append(out, `"timestamp":"`...)
		out = now.UTC().AppendFormat(out, TimestampLayout)
		out = append(out, '"')
	}
	return append(out, '}'), nil
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// ParseLastEventID parses the value of a Last-Event-ID header or lastEventId query parameter.
// Surrounding spaces and tabs are ignored; an empty value means the client sent none (ok false).
// Anything else must be a decimal uint64, or the error wraps ErrBadLastEventID.
func ParseLastEventID(s string) (id uint64, ok bool, err error) {
	s = strings.Trim(s, " \t")
	if s == "" {
		return 0, false, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false, fmt.Errorf("%w: %q", ErrBadLastEventID, truncate(s, 64))
		}
	}
	id, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %q out of range", ErrBadLastEventID, truncate(s, 64))
	}
	return id, true, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
