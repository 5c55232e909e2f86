package codec

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// MarshalProtobuf encodes m in the protobuf binary format after checking its
// required fields. Map entries are written in a deterministic order.
func MarshalProtobuf(m proto.Message) ([]byte, error) {
	if err := CheckRequired(m); err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{AllowPartial: true, Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("codec: marshal protobuf: %w", err)
	}
	return b, nil
}

// UnmarshalProtobuf decodes the protobuf binary b into m, replacing its
// contents and keeping unknown fields, and then checks required fields.
func UnmarshalProtobuf(b []byte, m proto.Message) error {
	if m == nil || !m.ProtoReflect().IsValid() {
		return errors.New("codec: unmarshal protobuf: nil message")
	}
	if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(b, m); err != nil {
		return fmt.Errorf("codec: unmarshal protobuf: %w", err)
	}
	return CheckRequired(m)
}
