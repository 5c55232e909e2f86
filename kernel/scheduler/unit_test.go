package scheduler

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func TestRedirectBase(t *testing.T) {
	tests := []struct {
		current, location, want string
		wantErr                 bool
	}{
		{"http://m1:5050", "//m2:5050/api/v1/scheduler", "http://m2:5050", false},
		{"https://m1:5050", "//m2:5050/api/v1/scheduler", "https://m2:5050", false},
		{"http://m1:5050", "//10.0.0.2:5050", "http://10.0.0.2:5050", false},
		{"http://m1:5050", "http://m3:5050/master/redirect", "http://m3:5050", false},
		{"http://m1:5050", "https://m3:5050/x", "https://m3:5050", false},
		{"http://m1:5050", "//[::1]:5050/api/v1/scheduler", "http://[::1]:5050", false},
		{"http://m1:5050", "", "", true},
		{"http://m1:5050", "/api/v1/scheduler", "", true},
		{"http://m1:5050", "//%zz", "", true},
	}
	for _, tt := range tests {
		got, err := redirectBase(tt.current, tt.location)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("redirectBase(%q, %q) = %q, %v; want %q (error %v)", tt.current, tt.location, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"m1:5050", "http://m1:5050", false},
		{" m1:5050 ", "http://m1:5050", false},
		{"http://m1:5050/", "http://m1:5050", false},
		{"https://m1:5050/api", "https://m1:5050", false},
		{"zk://m1:2181/mesos", "", true},
		{"", "", true},
		{"http://", "", true},
	}
	for _, tt := range tests {
		got, err := baseURL(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("baseURL(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBackoffBoundsAndGrowth(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 1 * time.Second}
	caps := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, c := range caps {
		c *= time.Millisecond
		d := b.next()
		if d < c/2 || d > c {
			t.Errorf("delay %d = %v, want within [%v, %v]", i, d, c/2, c)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset delay = %v, want <= min", d)
	}
	// Jitter: many draws at the cap are not all equal.
	seen := map[time.Duration]bool{}
	for range 20 {
		b.cur = b.max
		seen[b.next()] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter")
	}
}

func TestClassifyErrorEvent(t *testing.T) {
	tests := []struct {
		msg  string
		want error
	}{
		{"Framework has been removed", ErrFrameworkRemoved},
		{"framework 'x' has been removed", ErrFrameworkRemoved},
		{"Framework failed over", ErrFailedOver},
		{"Master is shutting down", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got := classifyErrorEvent(tt.msg)
		if (tt.want == nil) != (got == nil) || (tt.want != nil && !errors.Is(got, tt.want)) {
			t.Errorf("classifyErrorEvent(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestCallErrorClassification(t *testing.T) {
	tests := []struct {
		code          int
		body          string
		notSubscribed bool
		retryable     bool
	}{
		{http.StatusForbidden, "Framework is not subscribed", true, false},
		{http.StatusForbidden, "Framework is not connected via HTTP", true, false},
		{http.StatusBadRequest, "Framework cannot be found", true, false},
		{http.StatusBadRequest, "The stream ID 'a' included in this request didn't match the stream ID currently associated with framework ID 'b'", true, false},
		{http.StatusBadRequest, "Failed to validate scheduler::Call: bad", false, false},
		{http.StatusTemporaryRedirect, "", true, false},
		{http.StatusServiceUnavailable, "Master has not finished recovery", false, true},
		{http.StatusTooManyRequests, "", false, true},
		{http.StatusUnauthorized, "", false, false},
	}
	for _, tt := range tests {
		e := &CallError{Call: "ACCEPT", StatusCode: tt.code, Body: tt.body}
		if e.notSubscribed() != tt.notSubscribed || e.retryable() != tt.retryable {
			t.Errorf("%d %q: notSubscribed=%v retryable=%v, want %v %v",
				tt.code, tt.body, e.notSubscribed(), e.retryable(), tt.notSubscribed, tt.retryable)
		}
	}
	e := &CallError{Call: "KILL", StatusCode: 400}
	if got, want := e.Error(), "scheduler: call KILL: 400 Bad Request"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// FuzzRedirectBase feeds arbitrary Location headers (outside input).
func FuzzRedirectBase(f *testing.F) {
	f.Add("//m2:5050/api/v1/scheduler")
	f.Add("http://m3:5050/")
	f.Add("/relative")
	f.Add("")
	f.Fuzz(func(t *testing.T, loc string) {
		got, err := redirectBase("http://m1:5050", loc)
		if err != nil {
			return
		}
		if _, err := baseURL(got); err != nil {
			t.Errorf("redirectBase(%q) = %q, not a valid base URL: %v", loc, got, err)
		}
	})
}

func TestResubscribeIgnoresStaleStream(t *testing.T) {
	cl, err := New(testConfig(codec.JSON, "m:5050"))
	if err != nil {
		t.Fatal(err)
	}
	var dropped error
	cl.streamID = "new"
	cl.dropStream = func(cause error) { dropped = cause }
	cl.resubscribe("old", errors.New("403"))
	if dropped != nil {
		t.Fatalf("a stale call's answer dropped the live stream: %v", dropped)
	}
	cl.resubscribe("new", errors.New("403"))
	if dropped == nil {
		t.Fatal("the live stream was not dropped")
	}
}

func TestAckQueueSkipsUpdatesWithoutUUID(t *testing.T) {
	cl, err := New(testConfig(codec.JSON, "m:5050"))
	if err != nil {
		t.Fatal(err)
	}
	q := newAckQueue(cl)
	st := updateEvent("t-1", nil).GetUpdate().GetStatus()
	q.addTask(st)
	st.Uuid = []byte{}
	q.addTask(st)
	st.AgentId = nil
	st.Uuid = []byte("u")
	q.addTask(st) // no agent: cannot be acknowledged
	if call := q.pop(); call != nil {
		t.Fatalf("queued %v", call)
	}
	q.addTask(updateEvent("t-2", []byte("u2")).GetUpdate().GetStatus())
	call := q.pop()
	if call.GetType() != schedulerpb.Call_ACKNOWLEDGE || string(call.GetAcknowledge().GetUuid()) != "u2" {
		t.Fatalf("queued %v", call)
	}

	op := &mesospb.OperationStatus{
		OperationId: &mesospb.OperationID{Value: proto.String("op-1")},
		State:       mesospb.OperationState_OPERATION_FINISHED.Enum(),
	}
	q.addOperation(op)
	if call := q.pop(); call != nil {
		t.Fatalf("queued %v for an operation status without uuid", call)
	}
	op.Uuid = &mesospb.UUID{Value: []byte("ou")}
	op.AgentId = agentID("agent-1")
	q.addOperation(op)
	call = q.pop()
	a := call.GetAcknowledgeOperationStatus()
	if call.GetType() != schedulerpb.Call_ACKNOWLEDGE_OPERATION_STATUS || string(a.GetUuid()) != "ou" ||
		a.GetOperationId().GetValue() != "op-1" || a.GetAgentId().GetValue() != "agent-1" {
		t.Fatalf("queued %v", call)
	}
}
