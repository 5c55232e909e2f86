package codec

import (
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MarshalJSON encodes m as Mesos-style JSON (see the package comment). It
// does not check required fields; Codec.Marshal does.
func MarshalJSON(m proto.Message) ([]byte, error) {
	return AppendJSON(make([]byte, 0, 256), m)
}

// AppendJSON appends the Mesos-style JSON encoding of m to dst.
func AppendJSON(dst []byte, m proto.Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("codec: marshal JSON: nil message")
	}
	rm := m.ProtoReflect()
	if !rm.IsValid() {
		// A typed nil pointer encodes as an empty message.
		return append(dst, "{}"...), nil
	}
	return appendMessage(dst, rm), nil
}

func appendMessage(b []byte, m protoreflect.Message) []byte {
	mi := infoFor(m.Descriptor())
	b = append(b, '{')
	first := true
	for i := range mi.fields {
		f := &mi.fields[i]
		fd := f.fd
		var v protoreflect.Value
		switch {
		case fd.IsList():
			if !m.Has(fd) {
				continue
			}
			v = m.Get(fd)
		case fd.IsMap():
			if !m.Has(fd) {
				continue
			}
			v = m.Get(fd)
		case m.Has(fd):
			v = m.Get(fd)
		case f.writeDefault:
			v = fd.Default()
		default:
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		switch {
		case fd.IsList():
			b = appendList(b, fd, v.List())
		case fd.IsMap():
			b = appendMap(b, fd, v.Map())
		default:
			b = appendValue(b, fd, v)
		}
	}
	return append(b, '}')
}

func appendList(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List) []byte {
	b = append(b, '[')
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, fd, l.Get(i))
	}
	return append(b, ']')
}

type mapEntry struct {
	k protoreflect.MapKey
	v protoreflect.Value
}

func appendMap(b []byte, fd protoreflect.FieldDescriptor, m protoreflect.Map) []byte {
	entries := make([]mapEntry, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, mapEntry{k, v})
		return true
	})
	kk := fd.MapKey().Kind()
	slices.SortFunc(entries, func(a, b mapEntry) int { return compareKeys(kk, a.k, b.k) })
	vfd := fd.MapValue()
	b = append(b, '{')
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.k.String())
		b = append(b, ':')
		b = appendValue(b, vfd, e.v)
	}
	return append(b, '}')
}

func compareKeys(k protoreflect.Kind, a, b protoreflect.MapKey) int {
	switch k {
	case protoreflect.BoolKind:
		ab, bb := a.Bool(), b.Bool()
		switch {
		case ab == bb:
			return 0
		case !ab:
			return -1
		}
		return 1
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		x, y := a.Int(), b.Int()
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		x, y := a.Uint(), b.Uint()
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	x, y := a.String(), b.String()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// appendValue writes one singular value of field fd (or one list element).
func appendValue(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) []byte {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10)
	case protoreflect.FloatKind:
		return appendFloat(b, v.Float(), 32)
	case protoreflect.DoubleKind:
		return appendFloat(b, v.Float(), 64)
	case protoreflect.StringKind:
		return appendString(b, v.String())
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"')
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			b = append(b, '"')
			b = append(b, ev.Name()...) // enum names are identifiers: no escaping
			return append(b, '"')
		}
		// A number without a name (only possible when set from Go code).
		return strconv.AppendInt(b, int64(v.Enum()), 10)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message())
	}
	return append(b, "null"...)
}

// appendFloat writes f as described in the package comment: decimal
// notation with at least one fractional digit for magnitudes in [1e-6, 1e21),
// shortest exponent notation otherwise, and strings for NaN and infinities.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		start := len(b)
		b = strconv.AppendFloat(b, f, 'e', -1, bits)
		// Trim a leading zero of a two-digit exponent: 1e-07 -> 1e-7.
		if n := len(b); n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, bits)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

const hexDigits = "0123456789abcdef"

// appendU4 writes r (at most U+FFFF) as a \uXXXX escape.
func appendU4(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// safeASCII marks the ASCII bytes that need no escaping in a JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString writes s as a JSON string in pure ASCII: non-ASCII runes (U+2028 and U+2029
// among them, so the output is also valid JavaScript) become \uXXXX escapes, with surrogate
// pairs beyond U+FFFF, and invalid UTF-8 becomes \ufffd.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// Every non-ASCII rune is escaped: the output is then pure ASCII, so its length in bytes is
		// its length in characters. Clients in the wild frame RecordIO records by comparing the
		// byte length with a JavaScript string length, and lose events carrying "é" otherwise.
		b = append(b, s[start:i]...)
		if r > 0xffff {
			hi, lo := utf16.EncodeRune(r)
			b = appendU4(b, hi)
			b = appendU4(b, lo)
		} else {
			b = appendU4(b, r)
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
