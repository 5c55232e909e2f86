package codec

import (
	"slices"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldInfo caches what the JSON writer needs for one field.
type fieldInfo struct {
	fd protoreflect.FieldDescriptor
	// key is the quoted field name followed by a colon: "name":
	key []byte
	// writeDefault is set for singular scalar fields with an explicit
	// proto2 default, which are written even when unset.
	writeDefault bool
}

// messageInfo caches per-descriptor data shared by the encoder, the decoder
// and the required-field check.
type messageInfo struct {
	fields []fieldInfo // in field-number order
	byName map[string]protoreflect.FieldDescriptor

	requiredOnce sync.Once
	// checkFields lists the fields the required check must look at: the
	// required ones, and those holding messages that can (transitively)
	// contain a required field. Empty when the message needs no check.
	checkFields []protoreflect.FieldDescriptor
}

var infoCache sync.Map // protoreflect.MessageDescriptor -> *messageInfo

func infoFor(md protoreflect.MessageDescriptor) *messageInfo {
	if v, ok := infoCache.Load(md); ok {
		return v.(*messageInfo)
	}
	fds := md.Fields()
	mi := &messageInfo{
		fields: make([]fieldInfo, 0, fds.Len()),
		byName: make(map[string]protoreflect.FieldDescriptor, 2*fds.Len()),
	}
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		name := string(fd.Name())
		key := appendString(nil, name)
		key = append(key, ':')
		mi.fields = append(mi.fields, fieldInfo{
			fd:           fd,
			key:          key,
			writeDefault: !fd.IsList() && !fd.IsMap() && fd.Message() == nil && fd.HasDefault(),
		})
		mi.byName[name] = fd
	}
	// JSON names are aliases; a real field name always wins a clash.
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if _, taken := mi.byName[fd.JSONName()]; !taken {
			mi.byName[fd.JSONName()] = fd
		}
	}
	slices.SortFunc(mi.fields, func(a, b fieldInfo) int {
		return int(a.fd.Number()) - int(b.fd.Number())
	})
	v, _ := infoCache.LoadOrStore(md, mi)
	return v.(*messageInfo)
}

// requiredCheckFields returns the fields of md that the required check
// must visit (see messageInfo.checkFields).
func requiredCheckFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	mi := infoFor(md)
	mi.requiredOnce.Do(func() {
		for _, f := range mi.fields {
			fd := f.fd
			sub := fd.Message()
			if fd.IsMap() {
				sub = fd.MapValue().Message()
			}
			if fd.Cardinality() == protoreflect.Required ||
				(sub != nil && reachesRequired(sub, map[protoreflect.FullName]bool{})) {
				mi.checkFields = append(mi.checkFields, fd)
			}
		}
	})
	return mi.checkFields
}

func reachesRequired(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	fds := md.Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if fd.Cardinality() == protoreflect.Required {
			return true
		}
		sub := fd.Message()
		if fd.IsMap() {
			sub = fd.MapValue().Message()
		}
		if sub != nil && reachesRequired(sub, seen) {
			return true
		}
	}
	return false
}
