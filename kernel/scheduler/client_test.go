package scheduler

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

func TestSubscribeDeliversEventsInOrder(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		m.setSubscribe(func(_ int, s *fakeStream) {
			s.send(subscribedEvent("fw-1", 15))
			s.send(offersEvent("fw-1", "o-1", "o-2"))
			s.send(heartbeatEvent())
			s.send(updateEvent("t-1", nil))
			s.hold()
		})
		h := newRecHandler()
		cl, _ := runClient(t, testConfig(c, m.addr()), h)

		sub := nextRecorded(t, m.subs, "SUBSCRIBE")
		checkSubscribe(t, sub, "")
		if got := sub.call.GetSubscribe().GetFrameworkInfo().GetFailoverTimeout(); got != 60 {
			t.Errorf("failover_timeout = %v, want 60", got)
		}

		ev := h.next(t, "SUBSCRIBED")
		if got := ev.msg.(*schedulerpb.Event_Subscribed).GetFrameworkId().GetValue(); got != "fw-1" {
			t.Errorf("SUBSCRIBED framework id = %q", got)
		}
		offers := h.next(t, "OFFERS").msg.(*schedulerpb.Event_Offers).GetOffers()
		if len(offers) != 2 || offers[0].GetId().GetValue() != "o-1" || offers[1].GetId().GetValue() != "o-2" {
			t.Errorf("offers = %v", offers)
		}
		h.next(t, "HEARTBEAT")
		upd := h.next(t, "UPDATE").msg.(*schedulerpb.Event_Update)
		if upd.GetStatus().GetTaskId().GetValue() != "t-1" {
			t.Errorf("update = %v", upd)
		}

		if !cl.Connected() || cl.FrameworkID() != "fw-1" || cl.StreamID() != sub.stream {
			t.Errorf("state: connected=%v framework=%q stream=%q (want stream %q)",
				cl.Connected(), cl.FrameworkID(), cl.StreamID(), sub.stream)
		}
		if cl.Leader() != m.srv.URL {
			t.Errorf("Leader() = %q, want %q", cl.Leader(), m.srv.URL)
		}
	})
}

func TestRedirectToLeader(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		leader := newFakeMaster(t, c)
		follower := newFakeMaster(t, c)
		follower.setSubscribe(func(_ int, s *fakeStream) {
			s.w.Header().Set("Location", "//"+leader.addr()+Path)
			s.w.WriteHeader(http.StatusTemporaryRedirect)
		})
		h := newRecHandler()
		cl, _ := runClient(t, testConfig(c, follower.addr()), h)

		checkSubscribe(t, nextRecorded(t, follower.subs, "SUBSCRIBE at follower"), "")
		sub := nextRecorded(t, leader.subs, "SUBSCRIBE at leader")
		checkSubscribe(t, sub, "")
		h.next(t, "SUBSCRIBED")
		if cl.Leader() != leader.srv.URL {
			t.Errorf("Leader() = %q, want %q", cl.Leader(), leader.srv.URL)
		}
		// Calls go to the leader.
		if err := cl.Revive(t.Context()); err != nil {
			t.Fatalf("Revive: %v", err)
		}
		checkCall(t, nextRecorded(t, leader.calls, "REVIVE"), schedulerpb.Call_REVIVE, sub.stream, "fw-1")
		if len(follower.calls) != 0 {
			t.Errorf("follower received %d calls", len(follower.calls))
		}
	})
}

func TestRedirectLoopIsCapped(t *testing.T) {
	c := codec.Protobuf
	m := newFakeMaster(t, c)
	m.setSubscribe(func(_ int, s *fakeStream) {
		s.w.Header().Set("Location", "//"+m.addr()+Path)
		s.w.WriteHeader(http.StatusTemporaryRedirect)
	})
	cfg := testConfig(c, m.addr())
	cfg.MaxRedirects = 3
	cl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.subscribe(t.Context())
	if err == nil || !strings.Contains(err.Error(), "more than 3 redirects") {
		t.Fatalf("subscribe error = %v, want redirect cap", err)
	}
	if n := len(m.subs); n != 4 {
		t.Errorf("master saw %d SUBSCRIBEs, want 4 (1 + 3 redirects)", n)
	}
}

func TestRetryAfterUnavailable(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		m.setSubscribe(func(n int, s *fakeStream) {
			if n < 2 {
				http.Error(s.w, "Master has not finished recovery", http.StatusServiceUnavailable)
				return
			}
			streamSubscribed("fw-1", 15)(n, s)
		})
		h := newRecHandler()
		runClient(t, testConfig(c, m.addr()), h)
		for i := range 3 {
			checkSubscribe(t, nextRecorded(t, m.subs, "SUBSCRIBE"), "")
			_ = i
		}
		h.next(t, "SUBSCRIBED")
	})
}

func TestTriesMastersInOrder(t *testing.T) {
	c := codec.JSON
	m := newFakeMaster(t, c)
	// The first "master" refuses connections: a closed listener's address.
	dead := newFakeMaster(t, c)
	deadAddr := dead.addr()
	dead.srv.Close()

	h := newRecHandler()
	cl, _ := runClient(t, testConfig(c, deadAddr, m.addr()), h)
	nextRecorded(t, m.subs, "SUBSCRIBE")
	h.next(t, "SUBSCRIBED")
	if cl.Leader() != m.srv.URL {
		t.Errorf("Leader() = %q, want %q", cl.Leader(), m.srv.URL)
	}
}

func TestResubscribeAfterStreamBreaks(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		m.setSubscribe(func(n int, s *fakeStream) {
			s.send(subscribedEvent("fw-1", 15))
			if n == 0 {
				return // the stream ends
			}
			s.hold()
		})
		h := newRecHandler()
		cl, _ := runClient(t, testConfig(c, m.addr()), h)

		checkSubscribe(t, nextRecorded(t, m.subs, "first SUBSCRIBE"), "")
		h.next(t, "SUBSCRIBED")
		if ev := h.next(t, "DISCONNECTED"); ev.err == nil {
			t.Error("Disconnected without a reason")
		}
		sub := nextRecorded(t, m.subs, "second SUBSCRIBE")
		checkSubscribe(t, sub, "fw-1")
		h.next(t, "SUBSCRIBED")
		if cl.StreamID() != sub.stream {
			t.Errorf("StreamID() = %q, want the new stream %q", cl.StreamID(), sub.stream)
		}
		if err := cl.Suppress(t.Context(), "web"); err != nil {
			t.Fatalf("Suppress: %v", err)
		}
		checkCall(t, nextRecorded(t, m.calls, "SUPPRESS"), schedulerpb.Call_SUPPRESS, sub.stream, "fw-1")
	})
}

func TestResubscribeAfterMissedHeartbeats(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		m.setSubscribe(func(n int, s *fakeStream) {
			// Promise a heartbeat every 50ms, send two, then go silent
			// while keeping the connection open.
			s.send(subscribedEvent("fw-1", 0.05))
			s.send(heartbeatEvent())
			s.send(heartbeatEvent())
			s.hold()
		})
		h := newRecHandler()
		cfg := testConfig(c, m.addr())
		cfg.MissedHeartbeats = 3
		runClient(t, cfg, h)

		nextRecorded(t, m.subs, "first SUBSCRIBE")
		start := time.Now()
		h.next(t, "SUBSCRIBED")
		h.next(t, "HEARTBEAT")
		h.next(t, "HEARTBEAT")
		ev := h.next(t, "DISCONNECTED")
		if !errors.Is(ev.err, errHeartbeatTimeout) {
			t.Errorf("disconnect reason = %v, want missed heartbeats", ev.err)
		}
		if el := time.Since(start); el < 150*time.Millisecond {
			t.Errorf("dropped the stream after %v, before 3 heartbeat intervals", el)
		}
		checkSubscribe(t, nextRecorded(t, m.subs, "second SUBSCRIBE"), "fw-1")
		h.next(t, "SUBSCRIBED")
	})
}

func TestHeartbeatsKeepStreamAlive(t *testing.T) {
	c := codec.Protobuf
	m := newFakeMaster(t, c)
	m.setSubscribe(func(_ int, s *fakeStream) {
		s.send(subscribedEvent("fw-1", 0.25))
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if !s.send(heartbeatEvent()) {
					return
				}
			case <-s.r.Context().Done():
				return
			case <-s.m.done:
				return
			}
		}
	})
	h := newRecHandler()
	cfg := testConfig(c, m.addr())
	cfg.MissedHeartbeats = 4
	runClient(t, cfg, h)
	h.next(t, "SUBSCRIBED")
	// Without the heartbeats the stream would be dropped after 1s. (The
	// margin is wide: on a loaded machine goroutines stall for 400ms.)
	time.Sleep(1500 * time.Millisecond)
	if n := len(m.subs); n != 1 {
		t.Errorf("%d SUBSCRIBEs while heartbeats flowed, want 1", n)
	}
	for len(h.events) > 0 {
		if ev := <-h.events; ev.kind == "DISCONNECTED" {
			t.Errorf("disconnected: %v", ev.err)
		}
	}
}

func TestErrorEvents(t *testing.T) {
	tests := []struct {
		name    string
		msg     string
		before  bool  // ERROR instead of SUBSCRIBED
		wantErr error // nil: resubscribes
	}{
		{"removed at subscribe", "Framework has been removed", true, ErrFrameworkRemoved},
		{"removed later", "Framework has been removed", false, ErrFrameworkRemoved},
		{"failed over", "Framework failed over", false, ErrFailedOver},
		{"transient", "Master is shutting down", false, nil},
	}
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := newFakeMaster(t, c)
				m.setSubscribe(func(n int, s *fakeStream) {
					if n > 0 {
						streamSubscribed("fw-1", 15)(n, s)
						return
					}
					if !tt.before {
						s.send(subscribedEvent("fw-1", 15))
					}
					s.send(errorEvent(tt.msg))
					// Mesos closes the stream after a fatal ERROR; keep it
					// open to show the client does not depend on that.
					s.hold()
				})
				h := newRecHandler()
				_, res := runClient(t, testConfig(c, m.addr()), h)
				if !tt.before {
					h.next(t, "SUBSCRIBED")
				}
				if got := h.next(t, "ERROR").msg.(*schedulerpb.Event_Error).GetMessage(); got != tt.msg {
					t.Errorf("ERROR message = %q", got)
				}
				if tt.wantErr != nil {
					err := waitRun(t, res)
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Run = %v, want %v", err, tt.wantErr)
					}
					if !strings.Contains(err.Error(), tt.msg) {
						t.Errorf("Run error %q does not quote the master", err)
					}
					if n := len(m.subs); n != 1 {
						t.Errorf("%d SUBSCRIBEs, want 1", n)
					}
					return
				}
				nextRecorded(t, m.subs, "first SUBSCRIBE")
				checkSubscribe(t, nextRecorded(t, m.subs, "resubscribe"), "fw-1")
				h.skipTo(t, "SUBSCRIBED")
			})
		}
	})
}

func TestSubscribeRejected(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		m.setSubscribe(func(_ int, s *fakeStream) {
			http.Error(s.w, "Failed to validate scheduler::Call: bad role", http.StatusBadRequest)
		})
		_, res := runClient(t, testConfig(c, m.addr()), newRecHandler())
		err := waitRun(t, res)
		var cerr *CallError
		if !errors.As(err, &cerr) || cerr.StatusCode != http.StatusBadRequest {
			t.Fatalf("Run = %v, want a 400 CallError", err)
		}
		want := "scheduler: call SUBSCRIBE: 400 Bad Request: Failed to validate scheduler::Call: bad role"
		if err.Error() != want {
			t.Errorf("error = %q\nwant    %q", err, want)
		}
	})
}

func TestAutoAcknowledge(t *testing.T) {
	forEachCodec(t, func(t *testing.T, c codec.Codec) {
		m := newFakeMaster(t, c)
		m.setSubscribe(func(_ int, s *fakeStream) {
			s.send(subscribedEvent("fw-1", 15))
			s.send(updateEvent("t-1", []byte("uuid-1")))
			s.send(updateEvent("t-2", nil))              // reconciliation: no uuid
			s.send(updateEvent("t-2b", []byte{}))        // empty uuid counts as none
			s.send(updateEvent("t-3", []byte("uuid-3"))) // handler fails
			s.send(updateEvent("t-4", []byte("uuid-4")))
			s.hold()
		})
		h := newRecHandler()
		h.updateErr = func(u *schedulerpb.Event_Update) error {
			if u.GetStatus().GetTaskId().GetValue() == "t-3" {
				return errors.New("cannot persist")
			}
			return nil
		}
		cfg := testConfig(c, m.addr())
		cfg.AutoAcknowledge = true
		runClient(t, cfg, h)
		sub := nextRecorded(t, m.subs, "SUBSCRIBE")

		// Acknowledgements are sent in order, so after t-4's nothing else
		// can have been sent.
		for _, want := range []struct{ task, uuid string }{{"t-1", "uuid-1"}, {"t-4", "uuid-4"}} {
			r := nextRecorded(t, m.calls, "ACKNOWLEDGE "+want.task)
			checkCall(t, r, schedulerpb.Call_ACKNOWLEDGE, sub.stream, "fw-1")
			ack := r.call.GetAcknowledge()
			if ack.GetTaskId().GetValue() != want.task || !bytes.Equal(ack.GetUuid(), []byte(want.uuid)) ||
				ack.GetAgentId().GetValue() != "agent-1" {
				t.Errorf("ACKNOWLEDGE = %v, want task %s uuid %s", ack, want.task, want.uuid)
			}
		}
		select {
		case r := <-m.calls:
			t.Errorf("unexpected call %v", r.call)
		case <-time.After(50 * time.Millisecond):
		}
	})
}

func TestNoAutoAcknowledgeByDefault(t *testing.T) {
	c := codec.JSON
	m := newFakeMaster(t, c)
	m.setSubscribe(func(_ int, s *fakeStream) {
		s.send(subscribedEvent("fw-1", 15))
		s.send(updateEvent("t-1", []byte("uuid-1")))
		s.send(heartbeatEvent())
		s.hold()
	})
	h := newRecHandler()
	runClient(t, testConfig(c, m.addr()), h)
	h.next(t, "SUBSCRIBED")
	h.next(t, "UPDATE")
	h.next(t, "HEARTBEAT")
	time.Sleep(50 * time.Millisecond)
	if n := len(m.calls); n != 0 {
		t.Errorf("%d calls sent without AutoAcknowledge", n)
	}
}

func TestHandlerStop(t *testing.T) {
	c := codec.Protobuf
	m := newFakeMaster(t, c)
	m.setSubscribe(func(_ int, s *fakeStream) {
		s.send(subscribedEvent("fw-1", 15))
		s.send(updateEvent("t-1", []byte("u")))
		s.hold()
	})
	h := newRecHandler()
	boom := errors.New("boom")
	h.updateErr = func(*schedulerpb.Event_Update) error { return errors.Join(ErrStop, boom) }
	_, res := runClient(t, testConfig(c, m.addr()), h)
	if err := waitRun(t, res); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the handler's error", err)
	}
}

func TestRunTwice(t *testing.T) {
	c := codec.JSON
	m := newFakeMaster(t, c)
	h := newRecHandler()
	cl, _ := runClient(t, testConfig(c, m.addr()), h)
	h.next(t, "SUBSCRIBED")
	if err := cl.Run(t.Context(), h); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run = %v, want ErrAlreadyRunning", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	c := codec.JSON
	m := newFakeMaster(t, c)
	h := newRecHandler()
	cl, err := New(testConfig(c, m.addr()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	res := make(chan error, 1)
	go func() { res <- cl.Run(ctx, h) }()
	h.next(t, "SUBSCRIBED")
	cancel()
	if err := waitRun(t, res); !isContextErr(err) {
		t.Fatalf("Run = %v, want context error", err)
	}
	if cl.Connected() {
		t.Error("still connected after Run returned")
	}
}

func TestServerAnswersOtherCodec(t *testing.T) {
	// A master that ignores Accept and streams JSON to a protobuf client:
	// the client decodes by the answer's Content-Type.
	m := newFakeMaster(t, codec.Protobuf)
	m.setSubscribe(func(_ int, s *fakeStream) {
		s.codec = codec.JSON
		s.w.Header().Set("Content-Type", codec.ContentTypeJSON)
		s.w.Header().Set(headerStreamID, s.id)
		s.w.WriteHeader(http.StatusOK)
		s.started = true
		s.send(subscribedEvent("fw-9", 15))
		s.hold()
	})
	h := newRecHandler()
	cl, _ := runClient(t, testConfig(codec.Protobuf, m.addr()), h)
	h.next(t, "SUBSCRIBED")
	if cl.FrameworkID() != "fw-9" {
		t.Errorf("FrameworkID() = %q", cl.FrameworkID())
	}
}

func TestConfiguredFrameworkIDFailsOver(t *testing.T) {
	c := codec.Protobuf
	m := newFakeMaster(t, c)
	m.setSubscribe(streamSubscribed("fw-old", 15))
	cfg := testConfig(c, m.addr())
	cfg.FrameworkInfo.Id = frameworkID("fw-old")
	cfg.SuppressedRoles = []string{"batch"}
	h := newRecHandler()
	cl, _ := runClient(t, cfg, h)
	if cl.FrameworkID() != "fw-old" {
		t.Errorf("FrameworkID() before subscribing = %q", cl.FrameworkID())
	}
	sub := nextRecorded(t, m.subs, "SUBSCRIBE")
	checkSubscribe(t, sub, "fw-old")
	if got := sub.call.GetSubscribe().GetSuppressedRoles(); len(got) != 1 || got[0] != "batch" {
		t.Errorf("suppressed_roles = %q", got)
	}
	h.next(t, "SUBSCRIBED")
}

func TestNewValidates(t *testing.T) {
	good := testConfig(codec.JSON, "m:5050")
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no masters", func(c *Config) { c.Masters = nil }},
		{"empty master", func(c *Config) { c.Masters = []string{" "} }},
		{"bad scheme", func(c *Config) { c.Masters = []string{"zk://m:2181"} }},
		{"no framework info", func(c *Config) { c.FrameworkInfo = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			cfg.FrameworkInfo = proto.Clone(good.FrameworkInfo).(*mesospb.FrameworkInfo)
			tt.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
	cl, err := New(Config{Masters: []string{"m:5050"}, FrameworkInfo: good.FrameworkInfo})
	if err != nil {
		t.Fatal(err)
	}
	if cl.cfg.Codec != codec.Protobuf || cl.cfg.BackoffMin != DefaultBackoffMin || cl.cfg.BackoffMax != DefaultBackoffMax ||
		cl.cfg.MissedHeartbeats != DefaultMissedHeartbeats || cl.cfg.Masters[0] != "http://m:5050" {
		t.Errorf("defaults not applied: %+v", cl.cfg)
	}
}
