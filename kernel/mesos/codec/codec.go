package codec

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
)

// Media types spoken by the Mesos v1 HTTP APIs. They are sent exactly so:
// clients compare Content-Type byte for byte, so never add parameters.
const (
	ContentTypeJSON     = "application/json"
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeRecordIO = "application/recordio"
)

// Errors reported by ForContentType; HTTP handlers map them to status codes.
var (
	// ErrMissingContentType means the request had no Content-Type (400).
	ErrMissingContentType = errors.New("codec: missing Content-Type")
	// ErrUnsupportedMediaType means the Content-Type is neither JSON nor
	// protobuf (415).
	ErrUnsupportedMediaType = errors.New("codec: unsupported media type")
)

type kind uint8

const (
	kindNone kind = iota
	kindJSON
	kindProtobuf
)

// Codec is one of the two wire encodings of messages. The zero Codec is not
// usable; use JSON or Protobuf, or get one from ForContentType or Negotiate.
// Codecs are comparable: c == codec.JSON works.
type Codec struct {
	kind kind
}

// The two codecs.
var (
	JSON     = Codec{kind: kindJSON}
	Protobuf = Codec{kind: kindProtobuf}
)

// Name returns "json" or "protobuf".
func (c Codec) Name() string {
	switch c.kind {
	case kindJSON:
		return "json"
	case kindProtobuf:
		return "protobuf"
	}
	return ""
}

// ContentType returns the media type to send in Content-Type.
func (c Codec) ContentType() string {
	switch c.kind {
	case kindJSON:
		return ContentTypeJSON
	case kindProtobuf:
		return ContentTypeProtobuf
	}
	return ""
}

// String returns the codec's name.
func (c Codec) String() string { return c.Name() }

// Marshal encodes m. It fails if a proto2 required field is missing.
func (c Codec) Marshal(m proto.Message) ([]byte, error) {
	switch c.kind {
	case kindJSON:
		if err := CheckRequired(m); err != nil {
			return nil, err
		}
		return MarshalJSON(m)
	case kindProtobuf:
		return MarshalProtobuf(m)
	}
	return nil, errors.New("codec: marshal with the zero Codec")
}

// Unmarshal decodes b into m, replacing its contents, and checks required
// fields.
func (c Codec) Unmarshal(b []byte, m proto.Message) error {
	switch c.kind {
	case kindJSON:
		return UnmarshalJSON(b, m)
	case kindProtobuf:
		return UnmarshalProtobuf(b, m)
	}
	return errors.New("codec: unmarshal with the zero Codec")
}

// ForContentType returns the codec for a request's Content-Type header value.
// Parameters such as charset are ignored. An empty value yields an error
// wrapping ErrMissingContentType, anything but JSON or protobuf one wrapping
// ErrUnsupportedMediaType.
func ForContentType(contentType string) (Codec, error) {
	if strings.TrimSpace(contentType) == "" {
		return Codec{}, ErrMissingContentType
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Codec{}, fmt.Errorf("%w: %q: %v", ErrUnsupportedMediaType, contentType, err)
	}
	switch mt {
	case ContentTypeJSON:
		return JSON, nil
	case ContentTypeProtobuf:
		return Protobuf, nil
	}
	return Codec{}, fmt.Errorf("%w: %q", ErrUnsupportedMediaType, mt)
}

// Negotiate picks the response codec from the values of all Accept headers
// of a request (several headers, and duplicates, are allowed). JSON wins
// whenever it is acceptable, and is the default when no Accept header is
// present or all are empty. ok is false when neither JSON nor protobuf is
// acceptable; the caller then answers 406.
func Negotiate(acceptHeaders []string) (c Codec, ok bool) {
	if !hasAccept(acceptHeaders) {
		return JSON, true
	}
	if Accepts(acceptHeaders, ContentTypeJSON) {
		return JSON, true
	}
	if Accepts(acceptHeaders, ContentTypeProtobuf) {
		return Protobuf, true
	}
	return Codec{}, false
}

func hasAccept(headers []string) bool {
	for _, h := range headers {
		if strings.TrimSpace(h) != "" {
			return true
		}
	}
	return false
}

// Accepts reports whether mediaType (such as "application/recordio") is
// acceptable under the given Accept header values, following RFC 9110: the
// most specific matching media range decides, and q=0 excludes. No Accept
// header at all accepts everything.
func Accepts(acceptHeaders []string, mediaType string) bool {
	if !hasAccept(acceptHeaders) {
		return true
	}
	typ, sub, _ := strings.Cut(strings.ToLower(mediaType), "/")
	bestSpec := -1
	bestQ := 0.0
	for _, h := range acceptHeaders {
		for _, part := range strings.Split(h, ",") {
			rangeType, q, ok := parseMediaRange(part)
			if !ok {
				continue
			}
			rt, rs, _ := strings.Cut(rangeType, "/")
			spec := -1
			switch {
			case rt == "*" && rs == "*":
				spec = 0
			case rt == typ && rs == "*":
				spec = 1
			case rt == typ && rs == sub:
				spec = 2
			}
			if spec < 0 {
				continue
			}
			// The most specific range wins; among equally specific ones
			// (duplicated headers) the most permissive q.
			if spec > bestSpec || (spec == bestSpec && q > bestQ) {
				bestSpec, bestQ = spec, q
			}
		}
	}
	return bestSpec >= 0 && bestQ > 0
}

// parseMediaRange parses one element of an Accept header into its lower-case
// "type/subtype" and its q value. Malformed elements are reported as !ok and
// ignored by the caller.
func parseMediaRange(s string) (string, float64, bool) {
	params := strings.Split(s, ";")
	mt := strings.ToLower(strings.TrimSpace(params[0]))
	if mt == "" {
		return "", 0, false
	}
	t, sub, found := strings.Cut(mt, "/")
	if !found || t == "" || sub == "" || (t == "*" && sub != "*") {
		return "", 0, false
	}
	q := 1.0
	for _, p := range params[1:] {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return "", 0, false
		}
		q = f
	}
	return mt, q, true
}
