package master

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/mesos/schedulerpb"
)

// TestMultiRoleJSONWithDefaultRole subscribes a MULTI_ROLE framework whose JSON carries the
// "role":"*" default that Mesos-style JSON writes out; Strata reads it as unset.
func TestMultiRoleJSONWithDefaultRole(t *testing.T) {
	_, addr := startMaster(t, nil)
	startSimAgent(t, addr, "host-a")
	fi := frameworkInfo("multi", mesospb.FrameworkInfo_Capability_MULTI_ROLE)
	fi.Roles = []string{"web"}
	fi.Role = proto.String("*")
	s := subscribe(t, addr, codec.JSON, fi)
	o := s.next(schedulerpb.Event_OFFERS).GetOffers().GetOffers()[0]
	if o.GetAllocationInfo().GetRole() != "web" {
		t.Fatalf("offer allocation role = %q, want web", o.GetAllocationInfo().GetRole())
	}
	// A role other than the default beside MULTI_ROLE is still an error, as in Mesos.
	fi2 := frameworkInfo("multi2", mesospb.FrameworkInfo_Capability_MULTI_ROLE)
	fi2.Roles, fi2.Role = []string{"web"}, proto.String("ops")
	body, _ := codec.JSON.Marshal(&schedulerpb.Call{Type: schedulerpb.Call_SUBSCRIBE.Enum(), Subscribe: &schedulerpb.Call_Subscribe{FrameworkInfo: fi2}})
	code, _, text := post(t, "http://"+addr+"/api/v1/scheduler", "application/json", "", string(body))
	if code != http.StatusBadRequest || !strings.Contains(text, "MULTI_ROLE") {
		t.Fatalf("role beside MULTI_ROLE: %d %s", code, text)
	}
}

// TestFailoverCannotChangeImmutableFields re-subscribes with another user: the new stream gets
// ERROR, and the framework keeps its original user.
func TestFailoverCannotChangeImmutableFields(t *testing.T) {
	_, addr := startMaster(t, nil)
	s := subscribe(t, addr, codec.Protobuf, frameworkInfo("fw"))
	fi := frameworkInfo("fw")
	fi.Id = &mesospb.FrameworkID{Value: proto.String(s.fwID)}
	fi.User = proto.String("someone-else")
	call := &schedulerpb.Call{Type: schedulerpb.Call_SUBSCRIBE.Enum(), FrameworkId: fi.Id, Subscribe: &schedulerpb.Call_Subscribe{FrameworkInfo: fi}}
	body, _ := codec.Protobuf.Marshal(call)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
	req.Header.Set("Accept", codec.ContentTypeProtobuf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rec, err := recordio.NewReader(resp.Body).ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	ev := &schedulerpb.Event{}
	if err := codec.Protobuf.Unmarshal(rec, ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetType() != schedulerpb.Event_ERROR || !strings.Contains(ev.GetError().GetMessage(), "FrameworkInfo.user") {
		t.Fatalf("re-subscribe with another user: %v", ev)
	}
	// The original subscription is untouched.
	if code, body := s.call(&schedulerpb.Call{Type: schedulerpb.Call_REVIVE.Enum()}); code != http.StatusAccepted {
		t.Fatalf("original stream after the refused failover: %d %s", code, body)
	}
}
