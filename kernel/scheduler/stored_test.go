package scheduler

import (
	"context"
	"errors"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

type memIDs struct {
	mu  sync.Mutex
	id  string
	set []string
}

func (m *memIDs) FrameworkID(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id, nil
}

func (m *memIDs) SetFrameworkID(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.id = id
	m.set = append(m.set, id)
	return nil
}

// A stored id the master has removed is cleared and the framework registers anew, without an
// id; each client is handed to started before it subscribes.
func TestRunWithStoredIDRegistersAnewWhenRemoved(t *testing.T) {
	m := newFakeMaster(t, codec.Protobuf)
	m.setSubscribe(func(n int, s *fakeStream) {
		if n == 0 {
			s.send(errorEvent("Framework has been removed"))
			s.hold()
			return
		}
		streamSubscribed("fw-new", 15)(n, s)
	})
	ids := &memIDs{id: "fw-old"}
	configFor := func(id string) Config {
		cfg := testConfig(codec.Protobuf, m.addr())
		if id != "" {
			cfg.FrameworkInfo.Id = &mesospb.FrameworkID{Value: proto.String(id)}
		}
		return cfg
	}
	var mu sync.Mutex
	var startedWith []string
	h := newRecHandler()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		res <- RunWithStoredID(ctx, ids, configFor, func(c *Client, id string) {
			mu.Lock()
			startedWith = append(startedWith, id)
			mu.Unlock()
		}, h)
	}()
	h.next(t, "ERROR")
	h.next(t, "SUBSCRIBED")
	first, second := (<-m.subs).call, (<-m.subs).call
	if first.GetSubscribe().GetFrameworkInfo().GetId().GetValue() != "fw-old" ||
		second.GetSubscribe().GetFrameworkInfo().GetId() != nil || second.GetType() != schedulerpb.Call_SUBSCRIBE {
		t.Fatalf("subscribed with %v, then %v", first.GetSubscribe().GetFrameworkInfo().GetId(), second.GetSubscribe().GetFrameworkInfo().GetId())
	}
	cancel()
	if err := waitRun(t, res); err != nil {
		t.Fatalf("RunWithStoredID = %v after its context ended, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(startedWith) != 2 || startedWith[0] != "fw-old" || startedWith[1] != "" {
		t.Fatalf("started with %q", startedWith)
	}
	if len(ids.set) != 1 || ids.set[0] != "" {
		t.Fatalf("SetFrameworkID calls %q, want one clearing it", ids.set)
	}
}

// ctxIDs fails as a store does when the caller's context has ended.
type ctxIDs struct{}

func (ctxIDs) FrameworkID(ctx context.Context) (string, error)    { return "", ctx.Err() }
func (ctxIDs) SetFrameworkID(ctx context.Context, _ string) error { return ctx.Err() }

// A context that ends while the id is read is a shutdown: nil, as the documentation promises
// (the apps service's tests saw "framework id: ... context canceled" at a stop). An id store
// failing for its own reasons is still an error.
func TestRunWithStoredIDEndsQuietlyWhileReadingTheID(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	noConfig := func(string) Config { t.Fatal("a client was built after the context ended"); return Config{} }
	if err := RunWithStoredID(ctx, ctxIDs{}, noConfig, func(*Client, string) {}, NopHandler{}); err != nil {
		t.Fatalf("RunWithStoredID = %v, want nil", err)
	}
	if err := RunWithStoredID(context.Background(), failingIDs{}, noConfig, func(*Client, string) {}, NopHandler{}); err == nil {
		t.Fatal("RunWithStoredID = nil with a broken id store, want its error")
	}
}

type failingIDs struct{}

func (failingIDs) FrameworkID(context.Context) (string, error)  { return "", errBrokenStore }
func (failingIDs) SetFrameworkID(context.Context, string) error { return errBrokenStore }

var errBrokenStore = errors.New("broken store")
