package codec

import (
	"errors"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// CheckRequired reports the first unset proto2 required field in m or in any
// message it contains, as "codec: <path>: required field missing" wrapping
// ErrRequiredFieldMissing. Paths use field names, list indexes and map keys:
// "offers[0].resources[2].name", `limits["cpus"].value`.
func CheckRequired(m proto.Message) error {
	if m == nil {
		return errors.New("codec: check required fields: nil message")
	}
	rm := m.ProtoReflect()
	if !rm.IsValid() {
		// A typed nil has no fields set at all.
		rm = rm.Type().New()
	}
	var path []pathElem
	return checkMessage(rm, &path)
}

func checkMessage(m protoreflect.Message, path *[]pathElem) error {
	for _, fd := range requiredCheckFields(m.Descriptor()) {
		if !m.Has(fd) {
			if fd.Cardinality() == protoreflect.Required {
				*path = append(*path, pathElem{name: string(fd.Name())})
				return pathError(*path, ErrRequiredFieldMissing)
			}
			continue
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			var err error
			*path = append(*path, pathElem{name: string(fd.Name())})
			m.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				*path = append(*path, pathElem{key: k.String(), isKey: true})
				err = checkMessage(v.Message(), path)
				*path = (*path)[:len(*path)-1]
				return err == nil
			})
			if err != nil {
				return err
			}
			*path = (*path)[:len(*path)-1]
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			l := m.Get(fd).List()
			*path = append(*path, pathElem{name: string(fd.Name())}, pathElem{})
			for j := 0; j < l.Len(); j++ {
				(*path)[len(*path)-1].index = j
				if err := checkMessage(l.Get(j).Message(), path); err != nil {
					return err
				}
			}
			*path = (*path)[:len(*path)-2]
		case fd.Message() != nil:
			*path = append(*path, pathElem{name: string(fd.Name())})
			if err := checkMessage(m.Get(fd).Message(), path); err != nil {
				return err
			}
			*path = (*path)[:len(*path)-1]
		}
	}
	return nil
}
