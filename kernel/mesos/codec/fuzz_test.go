package codec

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// fuzzTargets are the message types the fuzzers decode into, chosen by the
// first input byte.
var fuzzTargets = []func() proto.Message{
	func() proto.Message { return &schedulerpb.Call{} },
	func() proto.Message { return &mesospb.TaskInfo{} },
	func() proto.Message { return &executorpb.Call{} },
	func() proto.Message { return &schedulerpb.Event{} },
}

// FuzzUnmarshalJSON checks that decoding never panics, and that whatever
// decodes re-encodes to JSON that decodes again to the same encoding.
func FuzzUnmarshalJSON(f *testing.F) {
	f.Add(uint8(0), []byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":3.6e+06}}}`))
	f.Add(uint8(1), []byte(`{"name":"t","task_id":{"value":"t1"},"agent_id":{"value":"a"},"limits":{"cpus":{"value":"Infinity"}}}`))
	f.Add(uint8(2), []byte(`{"type":"UPDATE","executor_id":{"value":"e"},"framework_id":{"value":"f"}}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		m := fuzzTargets[int(which)%len(fuzzTargets)]()
		if err := UnmarshalJSON(data, m); err != nil {
			return
		}
		first, err := JSON.Marshal(m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		m2 := m.ProtoReflect().New().Interface()
		if err := UnmarshalJSON(first, m2); err != nil {
			t.Fatalf("own output rejected: %v\n%s", err, first)
		}
		second, err := JSON.Marshal(m2)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Fatalf("unstable encoding:\n%s\n%s", first, second)
		}
		if _, err := MarshalProtobuf(m); err != nil {
			t.Fatalf("decoded message does not encode as protobuf: %v", err)
		}
	})
}

// FuzzUnmarshalProtobuf checks that binary decoding never panics and that
// whatever decodes also encodes in both formats.
func FuzzUnmarshalProtobuf(f *testing.F) {
	call := &schedulerpb.Call{
		Type: schedulerpb.Call_SUBSCRIBE.Enum(),
		Subscribe: &schedulerpb.Call_Subscribe{FrameworkInfo: &mesospb.FrameworkInfo{
			User: proto.String("u"), Name: proto.String("n"),
		}},
	}
	b, _ := proto.Marshal(call)
	f.Add(uint8(0), b)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		m := fuzzTargets[int(which)%len(fuzzTargets)]()
		if err := UnmarshalProtobuf(data, m); err != nil {
			return
		}
		if _, err := JSON.Marshal(m); err != nil {
			t.Fatalf("decoded message does not encode as JSON: %v", err)
		}
		out, err := MarshalProtobuf(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %v", err)
		}
		if err := UnmarshalProtobuf(out, m.ProtoReflect().New().Interface()); err != nil {
			t.Fatalf("own output rejected: %v", err)
		}
	})
}
