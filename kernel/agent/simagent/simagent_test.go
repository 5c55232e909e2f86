package simagent_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/simagent"
	"strata/kernel/master"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
)

func scalar(name string, v float64) *mesospb.Resource {
	return &mesospb.Resource{Name: proto.String(name), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(v)}}
}

// TestReregisterKeepsID registers with a real master, answers its PINGs, breaks the stream and
// comes back with REREGISTER under the same id.
func TestReregisterKeepsID(t *testing.T) {
	m, err := master.New(master.Config{IP: "127.0.0.1", WorkDir: t.TempDir(), AgentPingTimeout: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ready) }()
	defer func() { cancel(); <-done }()
	addr := <-ready

	actx, acancel := context.WithCancel(context.Background())
	defer acancel()
	a, err := simagent.Start(actx, simagent.Config{Master: addr, Hostname: "sim", Port: 5051, Address: "127.0.0.1:5051",
		Resources: []*mesospb.Resource{scalar("cpus", 1), scalar("mem", 256)}})
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID()
	if id == "" {
		t.Fatal("no agent id after registration")
	}
	if _, ok := a.WaitEvent(5*time.Second, func(ev *internalpb.AgentEvent) bool { return ev.GetType() == internalpb.AgentEvent_PING }); !ok {
		t.Fatal("no PING from the master")
	}
	a.Disconnect()
	if err := a.Reregister(""); err != nil {
		t.Fatal(err)
	}
	if a.ID() != id || len(a.Events(internalpb.AgentEvent_REREGISTERED)) != 1 {
		t.Fatalf("after re-registration: id %q (was %q), REREGISTERED events %d", a.ID(), id, len(a.Events(internalpb.AgentEvent_REREGISTERED)))
	}
	if _, err := a.SendStatus("nope", mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_RUNNING); err == nil {
		t.Fatal("SendStatus for an unknown task succeeded")
	}
}
