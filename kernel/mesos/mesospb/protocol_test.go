package mesospb_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"strata/kernel/mesos/agentpb"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// Make sure every schema package is linked in and registered, so the
// registry lookups below can see all of them.
var (
	_ = agentpb.Call_GET_STATE
	_ = executorpb.Call_SUBSCRIBE
	_ = internalpb.AgentCall_REGISTER
	_ = masterpb.Call_GET_STATE
	_ = schedulerpb.Call_SUBSCRIBE
)

func lookupMessage(t *testing.T, name string) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("message %s not registered: %v", name, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		t.Fatalf("%s is a %T, not a message", name, d)
	}
	return md
}

// TestWireFieldNumbers pins field numbers, kinds and labels that Mesos
// clients depend on. A wrong number here means Strata cannot talk to them.
func TestWireFieldNumbers(t *testing.T) {
	tests := []struct {
		message string
		field   string
		number  protoreflect.FieldNumber
		kind    protoreflect.Kind
		card    protoreflect.Cardinality
	}{
		{"mesos.v1.FrameworkInfo", "user", 1, protoreflect.StringKind, protoreflect.Required},
		{"mesos.v1.FrameworkInfo", "failover_timeout", 4, protoreflect.DoubleKind, protoreflect.Optional},
		{"mesos.v1.FrameworkInfo", "roles", 12, protoreflect.StringKind, protoreflect.Repeated},
		{"mesos.v1.FrameworkInfo", "capabilities", 10, protoreflect.MessageKind, protoreflect.Repeated},
		{"mesos.v1.FrameworkInfo", "offer_filters", 13, protoreflect.MessageKind, protoreflect.Repeated},
		{"mesos.v1.TaskInfo", "name", 1, protoreflect.StringKind, protoreflect.Required},
		{"mesos.v1.TaskInfo", "task_id", 2, protoreflect.MessageKind, protoreflect.Required},
		{"mesos.v1.TaskInfo", "agent_id", 3, protoreflect.MessageKind, protoreflect.Required},
		{"mesos.v1.TaskInfo", "command", 7, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.TaskInfo", "container", 9, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.TaskInfo", "limits", 15, protoreflect.MessageKind, protoreflect.Repeated},
		{"mesos.v1.TaskStatus", "state", 2, protoreflect.EnumKind, protoreflect.Required},
		{"mesos.v1.TaskStatus", "uuid", 11, protoreflect.BytesKind, protoreflect.Optional},
		{"mesos.v1.TaskStatus", "reason", 10, protoreflect.EnumKind, protoreflect.Optional},
		{"mesos.v1.TaskStatus", "timestamp", 6, protoreflect.DoubleKind, protoreflect.Optional},
		{"mesos.v1.CommandInfo", "shell", 6, protoreflect.BoolKind, protoreflect.Optional},
		{"mesos.v1.CommandInfo", "arguments", 7, protoreflect.StringKind, protoreflect.Repeated},
		{"mesos.v1.Resource", "provider_id", 12, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.Resource", "reservations", 13, protoreflect.MessageKind, protoreflect.Repeated},
		{"mesos.v1.Value.Range", "begin", 1, protoreflect.Uint64Kind, protoreflect.Required},
		{"mesos.v1.Offer", "agent_id", 3, protoreflect.MessageKind, protoreflect.Required},
		{"mesos.v1.Offer.Operation", "launch_group", 7, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.Filters", "refuse_seconds", 1, protoreflect.DoubleKind, protoreflect.Optional},
		{"mesos.v1.MasterInfo", "ip", 2, protoreflect.Uint32Kind, protoreflect.Required},
		{"mesos.v1.scheduler.Call", "framework_id", 1, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.scheduler.Call", "type", 2, protoreflect.EnumKind, protoreflect.Optional},
		{"mesos.v1.scheduler.Call", "revive", 15, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.scheduler.Call", "update_framework", 19, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.scheduler.Call.Subscribe", "offer_constraints", 3, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.scheduler.Event", "update_operation_status", 11, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.executor.Call", "executor_id", 1, protoreflect.MessageKind, protoreflect.Required},
		{"mesos.v1.executor.Call", "type", 3, protoreflect.EnumKind, protoreflect.Optional},
		{"mesos.v1.executor.Call.Message", "data", 2, protoreflect.BytesKind, protoreflect.Required},
		{"mesos.v1.executor.Event", "launch_group", 8, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.master.Call", "update_quota", 20, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.master.Response", "get_operations", 20, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.master.Event", "framework_removed", 9, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.agent.Response", "get_agent", 15, protoreflect.MessageKind, protoreflect.Optional},
		{"mesos.v1.quota.QuotaConfig", "limits", 3, protoreflect.MessageKind, protoreflect.Repeated},
	}
	for _, tt := range tests {
		t.Run(tt.message+"."+tt.field, func(t *testing.T) {
			md := lookupMessage(t, tt.message)
			fd := md.Fields().ByName(protoreflect.Name(tt.field))
			if fd == nil {
				t.Fatalf("%s has no field %q", tt.message, tt.field)
			}
			if fd.Number() != tt.number {
				t.Errorf("number = %d, want %d", fd.Number(), tt.number)
			}
			if fd.Kind() != tt.kind {
				t.Errorf("kind = %v, want %v", fd.Kind(), tt.kind)
			}
			if fd.Cardinality() != tt.card {
				t.Errorf("cardinality = %v, want %v", fd.Cardinality(), tt.card)
			}
		})
	}
}

// TestProtoDefaults pins the proto2 defaults that change behaviour when a
// client leaves a field unset.
func TestProtoDefaults(t *testing.T) {
	tests := []struct {
		message string
		field   string
		want    any
	}{
		{"mesos.v1.FrameworkInfo", "failover_timeout", 0.0},
		{"mesos.v1.FrameworkInfo", "checkpoint", false},
		{"mesos.v1.FrameworkInfo", "role", "*"},
		{"mesos.v1.CommandInfo", "shell", true},
		{"mesos.v1.CommandInfo.URI", "extract", true},
		{"mesos.v1.Filters", "refuse_seconds", 5.0},
		{"mesos.v1.MasterInfo", "port", uint32(5050)},
		{"mesos.v1.AgentInfo", "port", int32(5051)},
		{"mesos.v1.HealthCheck", "consecutive_failures", uint32(3)},
		{"mesos.v1.HealthCheck", "grace_period_seconds", 10.0},
		{"mesos.v1.CheckInfo", "timeout_seconds", 20.0},
		{"mesos.v1.Image", "cached", true},
		{"mesos.v1.LinuxInfo", "share_cgroups", true},
		{"mesos.v1.Resource", "role", "*"},
	}
	for _, tt := range tests {
		t.Run(tt.message+"."+tt.field, func(t *testing.T) {
			fd := lookupMessage(t, tt.message).Fields().ByName(protoreflect.Name(tt.field))
			if fd == nil {
				t.Fatalf("%s has no field %q", tt.message, tt.field)
			}
			if !fd.HasDefault() {
				t.Fatalf("%s.%s has no explicit default", tt.message, tt.field)
			}
			if got := fd.Default().Interface(); got != tt.want {
				t.Errorf("default = %#v, want %#v", got, tt.want)
			}
		})
	}

	// Enum defaults are checked by value name.
	enumDefaults := []struct {
		message, field, want string
	}{
		{"mesos.v1.ContainerInfo.DockerInfo", "network", "HOST"},
		{"mesos.v1.Environment.Variable", "type", "VALUE"},
		{"mesos.v1.NetworkInfo.IPAddress", "protocol", "IPv4"},
	}
	for _, tt := range enumDefaults {
		fd := lookupMessage(t, tt.message).Fields().ByName(protoreflect.Name(tt.field))
		if fd == nil {
			t.Fatalf("%s has no field %q", tt.message, tt.field)
		}
		if got := fd.DefaultEnumValue().Name(); string(got) != tt.want {
			t.Errorf("%s.%s default = %s, want %s", tt.message, tt.field, got, tt.want)
		}
	}

	// The generated getters honour the defaults too.
	if got := (&mesospb.CommandInfo{}).GetShell(); !got {
		t.Errorf("CommandInfo.GetShell() on empty message = false, want true")
	}
	if got := (&mesospb.Filters{}).GetRefuseSeconds(); got != 5.0 {
		t.Errorf("Filters.GetRefuseSeconds() on empty message = %v, want 5", got)
	}
}

// TestEnumNumbers pins enum numbers whose order upstream is irregular.
func TestEnumNumbers(t *testing.T) {
	tests := []struct {
		got  protoreflect.EnumNumber
		want protoreflect.EnumNumber
		name string
	}{
		{mesospb.TaskState_TASK_STAGING.Number(), 6, "TASK_STAGING"},
		{mesospb.TaskState_TASK_STARTING.Number(), 0, "TASK_STARTING"},
		{mesospb.TaskState_TASK_KILLING.Number(), 8, "TASK_KILLING"},
		{mesospb.TaskState_TASK_UNKNOWN.Number(), 13, "TASK_UNKNOWN"},
		{mesospb.TaskStatus_REASON_RECONCILIATION.Number(), 9, "REASON_RECONCILIATION"},
		{mesospb.TaskStatus_REASON_AGENT_DRAINING.Number(), 34, "REASON_AGENT_DRAINING"},
		{mesospb.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED.Number(), 33, "REASON_MAX_COMPLETION_TIME_REACHED"},
		{mesospb.CapabilityInfo_CHOWN.Number(), 1000, "CHOWN"},
		{mesospb.InverseOfferStatus_UNKNOWN.Number(), 1, "InverseOfferStatus.UNKNOWN"},
		{schedulerpb.Call_UPDATE_FRAMEWORK.Number(), 17, "scheduler UPDATE_FRAMEWORK"},
		{schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS.Number(), 15, "scheduler ACKNOWLEDGE_OPERATION_STATUS"},
		{schedulerpb.Event_HEARTBEAT.Number(), 8, "scheduler HEARTBEAT"},
		{executorpb.Event_HEARTBEAT.Number(), 9, "executor Event HEARTBEAT"},
		{executorpb.Call_HEARTBEAT.Number(), 4, "executor Call HEARTBEAT"},
		{masterpb.Call_DRAIN_AGENT.Number(), 37, "master DRAIN_AGENT"},
		{masterpb.Event_HEARTBEAT.Number(), 9, "master HEARTBEAT"},
		{agentpb.Call_GET_AGENT.Number(), 20, "agent GET_AGENT"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestTaskInfoRoundTrip(t *testing.T) {
	in := &mesospb.TaskInfo{
		Name:    proto.String("web"),
		TaskId:  &mesospb.TaskID{Value: proto.String("web-1")},
		AgentId: &mesospb.AgentID{Value: proto.String("agent-S0")},
		Resources: []*mesospb.Resource{
			{
				Name:   proto.String("cpus"),
				Type:   mesospb.Value_SCALAR.Enum(),
				Scalar: &mesospb.Value_Scalar{Value: proto.Float64(0.5)},
			},
			{
				Name: proto.String("ports"),
				Type: mesospb.Value_RANGES.Enum(),
				Ranges: &mesospb.Value_Ranges{Range: []*mesospb.Value_Range{
					{Begin: proto.Uint64(31000), End: proto.Uint64(31005)},
				}},
			},
		},
		Command: &mesospb.CommandInfo{
			Value: proto.String("./server"),
			Shell: proto.Bool(false),
			Uris:  []*mesospb.CommandInfo_URI{{Value: proto.String("http://example/x.tgz")}},
		},
		KillPolicy: &mesospb.KillPolicy{GracePeriod: &mesospb.DurationInfo{Nanoseconds: proto.Int64(3e9)}},
		Data:       []byte{0, 1, 2, 255},
		Labels:     &mesospb.Labels{Labels: []*mesospb.Label{{Key: proto.String("k"), Value: proto.String("v")}}},
		Limits:     map[string]*mesospb.Value_Scalar{"mem": {Value: proto.Float64(256)}},
	}

	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(in)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	out := &mesospb.TaskInfo{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if !proto.Equal(in, out) {
		t.Fatalf("round trip changed the message:\n in: %v\nout: %v", in, out)
	}
	if out.GetCommand().GetShell() {
		t.Errorf("explicit shell=false was lost")
	}

	// The encoding starts with field 1 (name) as a length-delimited string:
	// tag byte (1<<3)|2 = 0x0a.
	if len(b) == 0 || b[0] != 0x0a {
		t.Errorf("first byte = %#x, want 0x0a (TaskInfo.name = 1)", b[0])
	}

	// A TaskInfo without its required fields must not marshal silently.
	if _, err := proto.Marshal(&mesospb.TaskInfo{Name: proto.String("x")}); err == nil {
		t.Errorf("marshal of TaskInfo without task_id/agent_id succeeded, want required-field error")
	}
}
