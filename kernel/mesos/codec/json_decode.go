package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxDepth is the deepest nesting of JSON objects and arrays UnmarshalJSON
// accepts, counting skipped (unknown) values too.
const MaxDepth = 100

// Errors wrapped by the decoders; test with errors.Is.
var (
	// ErrSyntax reports input that is not well-formed JSON.
	ErrSyntax = errors.New("invalid JSON")
	// ErrTooDeep reports nesting beyond MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrInvalidValue reports a JSON value that does not fit its field.
	ErrInvalidValue = errors.New("invalid value")
	// ErrRequiredFieldMissing reports an unset proto2 required field.
	ErrRequiredFieldMissing = errors.New("required field missing")
)

// UnmarshalJSON decodes Mesos-style JSON (leniently, see the package
// comment) into m, replacing its contents, and then checks that every
// required field is set. Errors name the path of the offending field.
func UnmarshalJSON(b []byte, m proto.Message) error {
	if m == nil || !m.ProtoReflect().IsValid() {
		return errors.New("codec: unmarshal JSON: nil message")
	}
	proto.Reset(m)
	d := &decoder{scanner: scanner{data: b}}
	rm := m.ProtoReflect()
	if d.peek() == 'n' && d.literal("null") {
		// A null document is an empty message.
	} else if err := d.message(rm); err != nil {
		return err
	}
	if d.peek() != 0 {
		return d.syntaxError("unexpected data after the top-level value")
	}
	return CheckRequired(m)
}

// pathElem is one step of the path to the value being decoded.
type pathElem struct {
	name  string // field name, or "" for a list index or map key
	index int    // list index when name == "" and !isKey
	key   string // map key when isKey
	isKey bool
}

func formatPath(p []pathElem) string {
	var sb strings.Builder
	for _, e := range p {
		switch {
		case e.isKey:
			sb.WriteByte('[')
			sb.WriteString(strconv.Quote(e.key))
			sb.WriteByte(']')
		case e.name == "":
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(e.index))
			sb.WriteByte(']')
		default:
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(e.name)
		}
	}
	return sb.String()
}

// pathError formats an error as "codec: <path>: <err>".
func pathError(p []pathElem, err error) error {
	if len(p) == 0 {
		return fmt.Errorf("codec: %w", err)
	}
	return fmt.Errorf("codec: %s: %w", formatPath(p), err)
}

type decoder struct {
	scanner
	depth int
	path  []pathElem
}

func (d *decoder) syntaxError(what string) error {
	return pathError(d.path, fmt.Errorf("%w at offset %d: %s", ErrSyntax, d.pos, what))
}

func (d *decoder) valueError(format string, args ...any) error {
	return pathError(d.path, fmt.Errorf("%w: %s", ErrInvalidValue, fmt.Sprintf(format, args...)))
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return pathError(d.path, fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth))
	}
	return nil
}

// message decodes a JSON object into m.
func (d *decoder) message(m protoreflect.Message) error {
	if !d.consume('{') {
		return d.typeError("an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	mi := infoFor(m.Descriptor())
	if !d.consume('}') {
		for {
			key, ok := d.strBytes()
			if !ok {
				return d.syntaxError("expected an object key")
			}
			if !d.consume(':') {
				return d.syntaxError("expected ':' after an object key")
			}
			if fd, known := mi.byName[string(key)]; known {
				d.path = append(d.path, pathElem{name: string(fd.Name())})
				if err := d.field(m, fd); err != nil {
					return err
				}
				d.path = d.path[:len(d.path)-1]
			} else if err := d.skipValue(); err != nil {
				return err
			}
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				break
			}
			return d.syntaxError("expected ',' or '}' in an object")
		}
	}
	d.depth--
	return nil
}

// typeError reports the wrong kind of JSON value, after checking that the
// value is at least well-formed (so syntax errors are reported as such).
func (d *decoder) typeError(want string) error {
	start := d.pos
	got := d.describe()
	if err := d.skipValue(); err != nil {
		return err
	}
	d.pos = start
	return d.valueError("expected %s, got %s", want, got)
}

func (d *decoder) describe() string {
	switch c := d.peek(); {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == 0:
		return "end of input"
	}
	return "invalid input"
}

// field decodes the value of one field; a JSON null leaves it unset.
func (d *decoder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	if d.peek() == 'n' && d.literal("null") {
		m.Clear(fd)
		return nil
	}
	switch {
	case fd.IsList():
		return d.list(m, fd)
	case fd.IsMap():
		return d.mapField(m, fd)
	case fd.Message() != nil:
		if d.peek() != '{' {
			return d.typeError("an object")
		}
		m.Clear(fd)
		return d.message(m.Mutable(fd).Message())
	}
	v, ok, err := d.scalar(fd)
	if err != nil {
		return err
	}
	if ok {
		m.Set(fd, v)
	} else {
		m.Clear(fd)
	}
	return nil
}

func (d *decoder) list(m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	if !d.consume('[') {
		return d.typeError("an array")
	}
	if err := d.enter(); err != nil {
		return err
	}
	m.Clear(fd)
	l := m.Mutable(fd).List()
	if !d.consume(']') {
		d.path = append(d.path, pathElem{})
		for i := 0; ; i++ {
			d.path[len(d.path)-1].index = i
			if d.peek() == 'n' && d.literal("null") {
				// A null element is skipped.
			} else if fd.Message() != nil {
				v := l.NewElement()
				if err := d.message(v.Message()); err != nil {
					return err
				}
				l.Append(v)
			} else {
				v, ok, err := d.scalar(fd)
				if err != nil {
					return err
				}
				if ok {
					l.Append(v)
				}
			}
			if d.consume(',') {
				continue
			}
			if d.consume(']') {
				break
			}
			return d.syntaxError("expected ',' or ']' in an array")
		}
		d.path = d.path[:len(d.path)-1]
	}
	if l.Len() == 0 {
		m.Clear(fd)
	}
	d.depth--
	return nil
}

func (d *decoder) mapField(m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	if !d.consume('{') {
		return d.typeError("an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	m.Clear(fd)
	mp := m.Mutable(fd).Map()
	kfd, vfd := fd.MapKey(), fd.MapValue()
	if !d.consume('}') {
		for {
			key, ok := d.str()
			if !ok {
				return d.syntaxError("expected an object key")
			}
			if !d.consume(':') {
				return d.syntaxError("expected ':' after an object key")
			}
			d.path = append(d.path, pathElem{key: key, isKey: true})
			mk, err := d.mapKey(kfd, key)
			if err != nil {
				return err
			}
			switch {
			case d.peek() == 'n' && d.literal("null"):
				// A null value drops the entry.
			case vfd.Message() != nil:
				v := mp.NewValue()
				if err := d.message(v.Message()); err != nil {
					return err
				}
				mp.Set(mk, v)
			default:
				v, ok, err := d.scalar(vfd)
				if err != nil {
					return err
				}
				if ok {
					mp.Set(mk, v)
				}
			}
			d.path = d.path[:len(d.path)-1]
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				break
			}
			return d.syntaxError("expected ',' or '}' in an object")
		}
	}
	if mp.Len() == 0 {
		m.Clear(fd)
	}
	d.depth--
	return nil
}

func (d *decoder) mapKey(fd protoreflect.FieldDescriptor, key string) (protoreflect.MapKey, error) {
	var v protoreflect.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		v = protoreflect.ValueOfString(key)
	case protoreflect.BoolKind:
		switch key {
		case "true":
			v = protoreflect.ValueOfBool(true)
		case "false":
			v = protoreflect.ValueOfBool(false)
		default:
			return protoreflect.MapKey{}, d.valueError("invalid bool map key")
		}
	default:
		iv, err := d.integer(fd.Kind(), key)
		if err != nil {
			return protoreflect.MapKey{}, err
		}
		v = iv
	}
	return v.MapKey(), nil
}

// scalar decodes a non-message value. ok is false when the value is to be
// dropped (an unknown enum name in a non-required field).
func (d *decoder) scalar(fd protoreflect.FieldDescriptor) (v protoreflect.Value, ok bool, err error) {
	k := fd.Kind()
	switch k {
	case protoreflect.BoolKind:
		switch {
		case d.peek() == 't' && d.literal("true"):
			return protoreflect.ValueOfBool(true), true, nil
		case d.peek() == 'f' && d.literal("false"):
			return protoreflect.ValueOfBool(false), true, nil
		case d.peek() == '"':
			s, ok := d.str()
			if !ok {
				return v, false, d.syntaxError("invalid string")
			}
			switch s {
			case "true":
				return protoreflect.ValueOfBool(true), true, nil
			case "false":
				return protoreflect.ValueOfBool(false), true, nil
			}
			return v, false, d.valueError("expected a boolean, got %q", s)
		}
		return v, false, d.typeError("a boolean")

	case protoreflect.StringKind:
		if d.peek() != '"' {
			return v, false, d.typeError("a string")
		}
		s, ok := d.str()
		if !ok {
			return v, false, d.syntaxError("invalid string")
		}
		return protoreflect.ValueOfString(s), true, nil

	case protoreflect.BytesKind:
		if d.peek() != '"' {
			return v, false, d.typeError("a base64 string")
		}
		s, ok := d.str()
		if !ok {
			return v, false, d.syntaxError("invalid string")
		}
		b, err := decodeBase64(s)
		if err != nil {
			return v, false, d.valueError("invalid base64: %v", err)
		}
		return protoreflect.ValueOfBytes(b), true, nil

	case protoreflect.EnumKind:
		if d.peek() != '"' {
			return v, false, d.typeError("an enum value name")
		}
		s, ok := d.str()
		if !ok {
			return v, false, d.syntaxError("invalid string")
		}
		if ev := fd.Enum().Values().ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), true, nil
		}
		if fd.Cardinality() == protoreflect.Required {
			return v, false, d.valueError("unknown %s value %q in a required field", fd.Enum().FullName(), s)
		}
		return v, false, nil

	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bits := 64
		if k == protoreflect.FloatKind {
			bits = 32
		}
		text, quoted, err := d.numberText()
		if err != nil {
			return v, false, err
		}
		if quoted {
			switch text {
			case "NaN":
				return floatValue(k, math.NaN()), true, nil
			case "Infinity":
				return floatValue(k, math.Inf(1)), true, nil
			case "-Infinity":
				return floatValue(k, math.Inf(-1)), true, nil
			}
			if !isNumber(strings.TrimSpace(text)) {
				return v, false, d.valueError("expected a number, got %q", text)
			}
			text = strings.TrimSpace(text)
		}
		f, err := strconv.ParseFloat(text, bits)
		if err != nil {
			return v, false, d.valueError("number %s out of range", text)
		}
		return floatValue(k, f), true, nil
	}

	// Integers.
	text, quoted, err := d.numberText()
	if err != nil {
		return v, false, err
	}
	if quoted {
		text = strings.TrimSpace(text)
	}
	iv, err := d.integer(k, text)
	if err != nil {
		return v, false, err
	}
	return iv, true, nil
}

func floatValue(k protoreflect.Kind, f float64) protoreflect.Value {
	if k == protoreflect.FloatKind {
		return protoreflect.ValueOfFloat32(float32(f))
	}
	return protoreflect.ValueOfFloat64(f)
}

// numberText reads a JSON number, or a string that may hold one.
func (d *decoder) numberText() (text string, quoted bool, err error) {
	switch c := d.peek(); {
	case c == '"':
		s, ok := d.str()
		if !ok {
			return "", false, d.syntaxError("invalid string")
		}
		return s, true, nil
	case c == '-' || (c >= '0' && c <= '9'):
		t, ok := d.number()
		if !ok {
			return "", false, d.syntaxError("invalid number")
		}
		return t, false, nil
	}
	return "", false, d.typeError("a number")
}

// integer parses text (a JSON number) into an integer value of kind k.
// Fractions and exponents are accepted when the value is integral.
func (d *decoder) integer(k protoreflect.Kind, text string) (protoreflect.Value, error) {
	signed, bits := intKind(k)
	if signed {
		if n, err := strconv.ParseInt(text, 10, bits); err == nil {
			return intValue(k, n), nil
		}
	} else if n, err := strconv.ParseUint(text, 10, bits); err == nil {
		return uintValue(k, n), nil
	}
	if !isNumber(text) {
		return protoreflect.Value{}, d.valueError("expected an integer, got %q", text)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) {
		return protoreflect.Value{}, d.valueError("%s is not an integer", text)
	}
	limit := math.Ldexp(1, bits) // 2^bits
	if signed {
		if f < -limit/2 || f >= limit/2 {
			return protoreflect.Value{}, d.valueError("%s out of range for %s", text, k)
		}
		return intValue(k, int64(f)), nil
	}
	if f < 0 || f >= limit {
		return protoreflect.Value{}, d.valueError("%s out of range for %s", text, k)
	}
	return uintValue(k, uint64(f)), nil
}

func intKind(k protoreflect.Kind) (signed bool, bits int) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return true, 32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return true, 64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return false, 32
	}
	return false, 64
}

func intValue(k protoreflect.Kind, n int64) protoreflect.Value {
	if _, bits := intKind(k); bits == 32 {
		return protoreflect.ValueOfInt32(int32(n))
	}
	return protoreflect.ValueOfInt64(n)
}

func uintValue(k protoreflect.Kind, n uint64) protoreflect.Value {
	if _, bits := intKind(k); bits == 32 {
		return protoreflect.ValueOfUint32(uint32(n))
	}
	return protoreflect.ValueOfUint64(n)
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc.DecodeString(s)
}

// skipValue consumes one well-formed JSON value of any kind.
func (d *decoder) skipValue() error {
	switch c := d.peek(); {
	case c == '{':
		d.pos++
		if err := d.enter(); err != nil {
			return err
		}
		if !d.consume('}') {
			for {
				if _, ok := d.strBytes(); !ok {
					return d.syntaxError("expected an object key")
				}
				if !d.consume(':') {
					return d.syntaxError("expected ':' after an object key")
				}
				if err := d.skipValue(); err != nil {
					return err
				}
				if d.consume(',') {
					continue
				}
				if d.consume('}') {
					break
				}
				return d.syntaxError("expected ',' or '}' in an object")
			}
		}
		d.depth--
	case c == '[':
		d.pos++
		if err := d.enter(); err != nil {
			return err
		}
		if !d.consume(']') {
			for {
				if err := d.skipValue(); err != nil {
					return err
				}
				if d.consume(',') {
					continue
				}
				if d.consume(']') {
					break
				}
				return d.syntaxError("expected ',' or ']' in an array")
			}
		}
		d.depth--
	case c == '"':
		if _, ok := d.strBytes(); !ok {
			return d.syntaxError("invalid string")
		}
	case c == 't':
		if !d.literal("true") {
			return d.syntaxError("invalid literal")
		}
	case c == 'f':
		if !d.literal("false") {
			return d.syntaxError("invalid literal")
		}
	case c == 'n':
		if !d.literal("null") {
			return d.syntaxError("invalid literal")
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if _, ok := d.number(); !ok {
			return d.syntaxError("invalid number")
		}
	case c == 0:
		return d.syntaxError("unexpected end of input")
	default:
		return d.syntaxError(fmt.Sprintf("unexpected character %q", c))
	}
	return nil
}
